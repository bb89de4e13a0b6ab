import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` starts real redis-server and gateway processes.
export default defineConfig({
  test: {
    // Real processes and ports: at most two files at once keeps the 2-core machine usable.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['gateway/test/unit/**/*.test.ts', 'client-sdk/test/unit/**/*.test.ts'],
        },
      },
      {
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
