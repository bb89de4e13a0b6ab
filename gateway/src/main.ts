/**
 * The process entry point and the only reader of process.env: loadConfig(env) -> buildGateway(config) ->
 * listen. SIGTERM and SIGINT close the node cleanly and exit 0.
 */
import { createTokenSigner } from './auth/index.ts';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, readOrCreateDevSecret, type GatewayConfig } from './config/index.ts';
import { buildGateway } from './gateway.ts';
import type { EventDefinition } from './session/claim-store.ts';
import type { Logger } from './infra/logger.ts';

function announceDevSecret(config: GatewayConfig, log: Logger, port: number): void {
  // 24 h, unless JWT_MAX_LIFETIME_SECONDS is shorter (the gateway would refuse a longer token).
  const ttlSeconds = Math.min(24 * 3600, config.auth.maxLifetimeSeconds);
  const validFor = ttlSeconds % 3600 === 0 ? `${ttlSeconds / 3600} h` : `${ttlSeconds} s`;
  const token = createTokenSigner(config.auth).sign({ sub: 'dev-user', ttlSeconds });
  const url = `http://localhost:${port}`;
  const kept = config.devSecret;
  const where = kept === undefined ? undefined : relative(process.cwd(), kept.file) || kept.file;
  const box = (lines: string[]): string[] => lines.map((line) => `  *  ${line.padEnd(68)}*`);
  // Printed on stderr for a person at a terminal, not into the JSON log (a token never enters a log line).
  process.stderr.write(
    [
      '',
      '  ************************************************************************',
      ...box(
        kept === undefined
          ? ['DEVELOPMENT MODE: no JWT key configured, a throwaway secret was', 'generated for this process.']
          : [
              'DEVELOPMENT MODE: no JWT key configured; tokens are signed with the',
              `development secret ${kept.created ? 'just created' : 'kept'} in ${where ?? ''}`,
              '(reused at every start: tokens survive restarts; delete it to sign',
              'everyone out).',
            ],
      ),
      ...box(['Never use this in production', '(NODE_ENV=production refuses to start without JWT_SECRET).']),
      '  ************************************************************************',
      '',
      `  Gateway:   ${url}   (health: ${url}/healthz, metrics: ${url}/metrics)`,
      `  Dev token for user "dev-user" (valid ${validFor}):`,
      `  ${token}`,
      '',
      `  Demo:      ${url}/demo/#token=${token}`,
      `  More:      T=$(npm run -s token -- --sub alice)   (a token for another user, same secret)`,
      `  Origins:   any http://localhost:* and http://127.0.0.1:* page may connect in development`,
      '',
      `  Try it:    node -e "require('socket.io-client').io('${url}',{auth:{token:process.argv[1]}}).on('session:restored',s=>{console.log(s);process.exit(0)})" <token>`,
      '',
    ].join('\n') + '\n',
  );
  log.warn(
    { devSecretFile: kept?.file, created: kept?.created },
    'development mode: no JWT key configured, signing with the development secret; printed a dev token on stderr',
  );
}

/** The demo's event: 16 seats, a queue that admits one user every 2 s, holds of SEAT_HOLD_SECONDS. */
function demoEvents(config: GatewayConfig): Record<string, EventDefinition> {
  const seats = ['A', 'B'].flatMap((row) => Array.from({ length: 8 }, (_, i) => `${row}${i + 1}`));
  return {
    demo: {
      seats,
      requiresAdmission: false,
      admissionRatePerSecond: 0.5,
      maxSeatsPerUser: 4,
      holdSeconds: config.claims.holdSeconds,
    },
  };
}

async function main(): Promise<void> {
  let config: GatewayConfig;
  try {
    // Development without a key keeps its secret in DEV_SECRET_FILE, so tokens survive restarts.
    config = loadConfig(process.env, { devSecret: readOrCreateDevSecret });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md.\n`);
      process.exit(1);
    }
    throw err;
  }
  // Development without a configured key is the "try it in a minute" path: give the demo an event.
  const gateway = buildGateway(
    config,
    config.auth.generatedDevSecret ? { seedEvents: demoEvents(config) } : {},
  );
  const listening = gateway.listen();

  // Installed before the node listens: a SIGTERM right after the "gateway listening" line (a rollout that
  // stops a pod as it starts) used to find no handler and end the process without a drain. A signal during
  // the start waits for the listen to settle, then closes.
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    gateway.log.info({ signal }, 'shutting down');
    listening
      .catch(() => undefined)
      .then(() => gateway.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          gateway.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const { port } = await listening;
  // Which code this node runs: the compiled gateway/dist (production, the image) or the sources via tsx.
  gateway.log.info(
    { entry: fileURLToPath(import.meta.url), compiled: import.meta.url.endsWith('.js') },
    'gateway code',
  );
  if (config.auth.generatedDevSecret) announceDevSecret(config, gateway.log, port);
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
