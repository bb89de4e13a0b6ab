import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const sdkSource = (path: string): string =>
  fileURLToPath(new URL(`./client-sdk/src/${path}`, import.meta.url));

// Two projects: `unit` needs nothing but Node; `integration` starts real redis-server and gateway processes.
// In the repository the SDK's subpaths are its TypeScript sources (no build step), as tsconfig.json's
// `paths` tell tsc and tsx; the published package's `exports` point at dist/.
const resolve = {
  alias: [
    { find: /^@stayline\/client-sdk\/protocol$/, replacement: sdkSource('protocol/index.ts') },
    { find: /^@stayline\/client-sdk\/react$/, replacement: sdkSource('react/index.ts') },
    { find: /^@stayline\/client-sdk(\/browser)?$/, replacement: sdkSource('index.ts') },
  ],
};

export default defineConfig({
  test: {
    // Real processes and ports: at most two files at once keeps the 2-core machine usable.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['gateway/test/unit/**/*.test.ts', 'client-sdk/test/unit/**/*.test.ts'],
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: [
            'gateway/test/integration/**/*.test.ts',
            'gateway/test/cluster/**/*.test.ts',
            'client-sdk/test/integration/**/*.test.ts',
            'client-sdk/test/e2e/**/*.test.ts',
            'loadtest/test/**/*.test.ts',
          ],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          pool: 'forks',
        },
      },
    ],
  },
});
