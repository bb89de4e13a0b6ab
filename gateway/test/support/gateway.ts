/**
 * Starting real gateways for tests: in-process (`startGateway`, fast, for most integration tests) or as
 * a child process running the real entry point (`startGatewayProcess`, for SIGKILL, SIGTERM and the start
 * command itself; it lives in dev/gateway-process.ts, shared with scripts, benchmarks and the load tester,
 * and is re-exported here). Both take environment variables exactly as operators write them, bind port 0
 * on 127.0.0.1, and are stopped by the returned handle (processes by pid, never by name). Also the test
 * clients: `connect`, `tokenFor`.
 */
import { pino } from 'pino';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { loadConfig } from '../../src/config/index.ts';
import { buildGateway, type Gateway } from '../../src/gateway.ts';
import { signToken } from './tokens.ts';

export {
  REPO_ROOT,
  baseEnv,
  newSecret,
  startGatewayProcess,
  type GatewayProcess,
} from '../../../dev/gateway-process.ts';

export interface RunningGateway {
  url: string;
  port: number;
  gateway: Gateway;
  stop(): Promise<void>;
}

/** Builds and starts a gateway in this process. */
export async function startGateway(env: Record<string, string | undefined>): Promise<RunningGateway> {
  const config = loadConfig(env);
  const gateway = buildGateway(config, { logger: pino({ level: config.log.level }) });
  const { port } = await gateway.listen();
  return { url: `http://127.0.0.1:${port}`, port, gateway, stop: () => gateway.close() };
}

/** A socket.io-client connect_error from the gateway: `data` is the wire error of a refused handshake. */
export interface ConnectError extends Error {
  data?: import('@stayline/client-sdk/protocol').WireError;
}

/** Options every test client uses: no automatic reconnection unless a test asks for it. */
export type ClientOptions = Partial<ManagerOptions & SocketOptions>;

/** Opens a socket.io-client connection (websocket by default) with `token`. */
export function connect(url: string, token: string | undefined, options: ClientOptions = {}): Socket {
  return io(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(token === undefined ? {} : { auth: { token } }),
    ...options,
  });
}

/**
 * Client options for a client that retries refusals itself, as the SDK does: retryable handshake refusals
 * then arrive as `connect_error` with their code (a stock client sees its transport closed instead).
 */
export const retriesRefusals = (token: string): ClientOptions => ({
  auth: { token, retryableConnectErrors: true },
});

/** A token signed now with `secret` (the env's JWT_SECRET), for user `sub`. */
export function tokenFor(
  env: Record<string, string | undefined>,
  sub: string,
  options: { expiresIn?: number; claims?: Record<string, unknown> } = {},
): string {
  const secret = env['JWT_SECRET'];
  if (secret === undefined) throw new Error('tokenFor needs JWT_SECRET in the env');
  return signToken({
    key: secret,
    sub,
    expiresIn: options.expiresIn ?? 3600,
    nowMs: Date.now(),
    ...(options.claims ? { claims: options.claims } : {}),
  });
}
