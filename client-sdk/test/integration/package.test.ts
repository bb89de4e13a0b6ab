/**
 * The SDK as a customer gets it: `npm pack -w @stayline/client-sdk` from the repository root (its prepack
 * builds dist/), the tarball installed with npm into a fresh project outside the repository, imported with
 * ESM `import` and CommonJS `require` in plain Node (no `window`: imports must be SSR-safe), and a file using
 * every entry typechecked under NodeNext, Node16 and Bundler resolution. The README's bundle size is
 * compared with the size the build measured.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withSdkBuildLock } from '../../../gateway/test/support/build-lock.ts';
import { REPO_ROOT } from '../../../dev/gateway-process.ts';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const ENTRIES = ['.', './react', './protocol', './browser'] as const;

function run(
  cmd: string,
  args: readonly string[],
  cwd: string,
  timeoutMs = 120_000,
): SpawnSyncReturns<string> {
  const result = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} failed (${String(result.status)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

interface PackedFile {
  path: string;
}

describe('the packed SDK in a fresh project', () => {
  let dir: string;
  let app: string;
  let files: string[];
  let tarball: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stayline-pack-'));
    const packed = await withSdkBuildLock(() =>
      run('npm', ['pack', '-w', '@stayline/client-sdk', '--pack-destination', dir, '--json'], REPO_ROOT),
    );
    const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: PackedFile[] }];
    files = info.files.map((f) => f.path);
    tarball = join(dir, info.filename);
    app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
    );
    // From the local npm cache when it has the packages (socket.io-client comes with the SDK; React is the
    // optional peer the ./react entry needs), from the registry otherwise.
    run(
      'npm',
      ['install', tarball, 'react@19', '@types/react@19', '--no-audit', '--no-fund', '--prefer-offline'],
      app,
    );
  }, 240_000);
  afterAll(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('ships ESM, CommonJS and declarations for every entry, and no demo, tests, sources or source maps', () => {
    for (const path of ['index', 'react/index', 'protocol/index']) {
      expect(files).toContain(`dist/esm/${path}.js`);
      expect(files).toContain(`dist/esm/${path}.d.ts`);
      expect(files).toContain(`dist/cjs/${path}.cjs`);
      expect(files).toContain(`dist/cjs/${path}.d.cts`);
    }
    expect(files).toContain('dist/browser/stayline.min.js');
    expect(files).toContain('README.md');
    const unwanted = files.filter((f) => /(^|\/)(demo|test|src)\/|\.map$|\.tsx?$(?<!\.d\.ts)/.test(f));
    expect(unwanted).toEqual([]);

    const manifest = JSON.parse(
      readFileSync(join(app, 'node_modules/@stayline/client-sdk/package.json'), 'utf8'),
    ) as {
      sideEffects: unknown;
      exports: Record<string, unknown>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
    };
    expect(manifest.sideEffects).toBe(false);
    expect(manifest.peerDependenciesMeta['react']?.optional).toBe(true);
    for (const entry of ENTRIES) expect(Object.keys(manifest.exports)).toContain(entry);
  });

  it('imports every entry with ESM in plain Node (no window), and the CommonJS entries with require', () => {
    const esm = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const names = ${JSON.stringify(ENTRIES.map((e) => `@stayline/client-sdk${e.slice(1)}`))};
         const mods = await Promise.all(names.map((n) => import(n)));
         const [sdk, react, protocol, browser] = mods;
         console.log(JSON.stringify({
           window: typeof window,
           createClient: typeof sdk.createClient,
           sdkError: new sdk.SdkError('CLIENT_CLOSED').code,
           useQueue: typeof react.useQueue,
           useAppEvent: typeof react.useAppEvent,
           useRoom: typeof react.useRoom,
           codes: Object.keys(protocol.ERROR_CATALOGUE).length,
           browser: typeof browser.createClient,
           file: import.meta.resolve('@stayline/client-sdk'),
         }));`,
      ],
      app,
    );
    const out = JSON.parse(esm.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({
      window: 'undefined',
      createClient: 'function',
      sdkError: 'CLIENT_CLOSED',
      useQueue: 'function',
      useAppEvent: 'function',
      useRoom: 'function',
      browser: 'function',
    });
    expect(out['codes']).toBeGreaterThan(10);
    expect(out['file']).toMatch(/node_modules\/@stayline\/client-sdk\/dist\/esm\/index\.js$/);

    const cjs = run(
      process.execPath,
      [
        '-e',
        `const sdk = require('@stayline/client-sdk');
         const react = require('@stayline/client-sdk/react');
         const protocol = require('@stayline/client-sdk/protocol');
         const client = sdk.createClient({ url: 'http://127.0.0.1:9', getToken: () => 't', autoConnect: false });
         console.log(JSON.stringify({
           status: client.state.status,
           isSdkError: new sdk.SdkError('CLIENT_CLOSED') instanceof Error,
           useSeats: typeof react.useSeats,
           codes: Object.keys(protocol.ERROR_CATALOGUE).length,
           file: require.resolve('@stayline/client-sdk'),
         }));
         client.close();`,
      ],
      app,
    );
    const required = JSON.parse(cjs.stdout) as Record<string, unknown>;
    expect(required).toMatchObject({ status: 'idle', isSdkError: true, useSeats: 'function' });
    expect(required['file']).toMatch(/dist\/cjs\/index\.cjs$/);
  });

  it('typechecks a file using every entry under NodeNext, Node16 and Bundler resolution, and a require() file', () => {
    // `@ts-expect-error` lines fail the check if the types were missing (everything `any`).
    writeFileSync(
      join(app, 'consumer.mts'),
      `import { createClient, SdkError, type ConnectionStatus, type StaylineClient } from '@stayline/client-sdk';
import { createElement } from 'react';
import { StaylineProvider, useAppEvent, useConnectionState, useQueue, useRoom } from '@stayline/client-sdk/react';
import { ERROR_CATALOGUE, type ErrorCode, type SeatMapResult } from '@stayline/client-sdk/protocol';
import { createClient as createBrowserClient } from '@stayline/client-sdk/browser';

interface AppEvents { score: { home: number; away: number } }
const client: StaylineClient<AppEvents> = createClient<AppEvents>({ url: 'https://rt.example.com', getToken: () => 'token', autoConnect: false });
const idle: ConnectionStatus = 'idle';
client.reconnect();
const status: ConnectionStatus = client.state.status;
// @ts-expect-error not a status
const wrong: ConnectionStatus = 'sleeping';
const code: ErrorCode = 'SEAT_UNAVAILABLE';
// @ts-expect-error not a code
const badCode: ErrorCode = 'NOPE';
const retryable: boolean = ERROR_CATALOGUE[code].retryable;
// @ts-expect-error joinQueue takes an event id
void client.joinQueue(42);
client.onAppEvent('score', (s) => s.home + s.away);
// @ts-expect-error the payload is typed by the event map
client.onAppEvent('score', (s: string) => s);
const read = (m: SeatMapResult): number => m.version;
function Score(): null {
  useAppEvent<AppEvents, 'score'>('score', (s) => void s.away);
  const { messages } = useRoom<AppEvents>('match:42', { events: ['score'] });
  const first: number | undefined = (messages[0]?.data as AppEvents['score'] | undefined)?.home;
  void first;
  const { status: now } = useConnectionState();
  const { join } = useQueue('ev1');
  void join;
  void now;
  return null;
}
createElement(StaylineProvider, { client }, createElement(Score));
const other = createBrowserClient({ url: 'https://rt.example.com', getToken: async () => 'token', autoConnect: false });
export const used = [status, idle, wrong, badCode, retryable, read, other, new SdkError('CLIENT_CLOSED').code];
`,
    );
    writeFileSync(
      join(app, 'consumer.cts'),
      `import sdk = require('@stayline/client-sdk');
import react = require('@stayline/client-sdk/react');
import protocol = require('@stayline/client-sdk/protocol');
const client = sdk.createClient({ url: 'https://rt.example.com', getToken: () => 'token', autoConnect: false });
const status: sdk.ConnectionStatus = client.state.status;
// @ts-expect-error not a code
const code: protocol.ErrorCode = 'NOPE';
export = [status, code, react.useSeats];
`,
    );
    const common = [
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--lib',
      'ES2022,DOM',
      '--types',
      'react',
    ];
    for (const [module, resolution, sources] of [
      ['NodeNext', 'NodeNext', ['consumer.mts', 'consumer.cts']],
      ['Node16', 'Node16', ['consumer.mts', 'consumer.cts']],
      ['ESNext', 'Bundler', ['consumer.mts']],
    ] as const) {
      const result = spawnSync(
        process.execPath,
        [TSC, ...common, '--module', module, '--moduleResolution', resolution, ...sources],
        { cwd: app, encoding: 'utf8', timeout: 120_000 },
      );
      expect(`${resolution}: ${result.stdout}${result.stderr}`).toBe(`${resolution}: `);
      expect(result.status).toBe(0);
    }
  }, 120_000);

  it('states the bundle size the build measured in the SDK README (within 4 %)', () => {
    const size = JSON.parse(
      readFileSync(join(app, 'node_modules/@stayline/client-sdk/dist/size.json'), 'utf8'),
    ) as { minifiedBytes: number; gzipBytes: number };
    const readme = readFileSync(join(REPO_ROOT, 'client-sdk/README.md'), 'utf8');
    const stated = /\*\*([\d.]+) KiB minified,\s+([\d.]+) KiB\s+gzipped\*\*/.exec(readme);
    expect(stated, 'the README states "**N KiB minified, M KiB gzipped**"').not.toBeNull();
    const [minKiB, gzKiB] = [Number(stated?.[1]), Number(stated?.[2])];
    expect(Math.abs(minKiB * 1024 - size.minifiedBytes) / size.minifiedBytes).toBeLessThan(0.04);
    expect(Math.abs(gzKiB * 1024 - size.gzipBytes) / size.gzipBytes).toBeLessThan(0.04);
  });
});
