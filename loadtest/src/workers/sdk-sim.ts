/**
 * A simulated user driven by the real SDK (`createClient` of @stayline/client-sdk, socket.io-client in
 * Node), so a storm exercises the shipped reconnect code: its state machine, full-jitter backoff, server
 * hints, refusal retries, token fetch per attempt, and call resending. What the SDK does is observed, never
 * decided here: `getToken` marks the start of every attempt, `onStateChange` shows drops, failed attempts
 * and stops, `session:restored` the restore. `--policy`, `--base-ms`, `--cap-ms` reach the SDK as its
 * `backoff` option.
 *
 * Two things the tester does around the SDK, through its public options: the socket factory keeps the
 * socket.io-client socket, so `storm --drop` can reset its TCP connection and `--blackhole` pause it; and
 * every attempt after the first goes to another node of `spec.urls` (set on the socket.io Manager just
 * before the SDK connects, in `getToken`): the tester plays the load balancer a deployment puts in front,
 * exactly as the lean client's rotation does, so the clients of a killed node find the survivors.
 */
import type { Socket as NetSocket } from 'node:net';
import {
  SdkError,
  createClient,
  isClientErrorCode,
  type ConnectionState,
  type StaylineClient,
  type TokenReason,
} from '@stayline/client-sdk';
import type { Ack } from '@stayline/client-sdk/protocol';
import { io, type Socket } from 'socket.io-client';
import type { ClientAction } from './messages.ts';
import { NoAck, SimBase } from './sim-base.ts';
import { FANOUT_EVENT, nowMs, onFanoutGap, record, run } from './worker-io.ts';

const TRYING: ReadonlySet<string> = new Set(['connecting', 'reconnecting']);
const STOPPED: ReadonlySet<string> = new Set(['disconnected', 'unauthorized', 'forbidden']);

/** The TCP socket under a socket.io-client socket's websocket (engine.io-client's `ws` transport). */
function tcpOf(socket: Socket | undefined): NetSocket | undefined {
  const engine = (socket?.io as unknown as { engine?: { transport?: { ws?: { _socket?: NetSocket } } } })
    ?.engine;
  return engine?.transport?.ws?._socket;
}

/** One user on the real SDK (see the file comment). */
export class SdkSim extends SimBase {
  private client: StaylineClient | undefined;
  private socket: Socket | undefined;
  private done = false;
  private stranded = false;
  private attempts = 0;
  private urlIndex = 0;
  private attemptStartedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    if (this.spec.script) throw new Error('--client sdk does not replay traces (use the lean client)');
    this.timer = setTimeout(() => this.open(), Math.max(0, this.spec.startAt - nowMs()));
  }

  private open(): void {
    const init = run.init;
    if (this.done || init === undefined || nowMs() > init.stopAt) {
      this.done = true;
      return;
    }
    const localAddress = this.spec.localAddress;
    const client = createClient({
      url: this.spec.urls[0] ?? '',
      getToken: ({ reason }) => this.beforeAttempt(reason),
      autoConnect: false,
      connectTimeoutMs: init.connectTimeoutMs,
      backoff: { baseMs: init.policy.baseMs, capMs: init.policy.capMs },
      // A storm client that is not told to reconnect gives up after its first failure.
      ...(this.spec.reconnect ? {} : { maxAttempts: 1 }),
      fetch: null,
      // localAddress reaches the `ws` socket through engine.io-client (transports/websocket.js picks it).
      socketFactory: ((url: string, opts: Parameters<typeof io>[1]) => {
        const withAddress: object = { ...opts, ...(localAddress === undefined ? {} : { localAddress }) };
        return (this.socket = io(url, withAddress));
      }) as typeof io,
    });
    this.client = client;
    client.on('session:restored', (session) => void this.sessionUp(session, nowMs() - this.attemptStartedAt));
    // What the app's handler sees: each message once and in order, by the SDK's positions; gaps it reports.
    client.onAppEvent(FANOUT_EVENT, (data, meta) => this.fanout(data, meta.position));
    client.onGap((gap) => onFanoutGap(gap.room));
    client.onStateChange((s, p) => this.onState(s, p));
    client.connect();
  }

  /** Called by the SDK before every attempt (and token refresh): the attempt starts now. */
  private beforeAttempt(reason: TokenReason): string {
    if (reason === 'refresh') return this.spec.token;
    const init = run.init;
    if (this.done || init === undefined || nowMs() > init.stopAt) {
      queueMicrotask(() => this.closeNow());
      throw new Error('the run is over');
    }
    if (this.attempts++ > 0) {
      // The next attempt goes to another node, spread as the lean client spreads them (lean-sim.ts).
      const others = Math.max(1, this.spec.urls.length - 1);
      this.urlIndex += this.urlIndex === 0 ? 1 + (this.spec.id % others) : 1;
      const url = this.spec.urls[this.urlIndex % this.spec.urls.length];
      // socket.io-client's Manager opens every engine on `this.uri` (manager.js, open()).
      if (url !== undefined && this.socket) (this.socket.io as unknown as { uri: string }).uri = url;
    }
    this.attemptStartedAt = nowMs();
    record({ k: 'hs', ...this.base() });
    return this.spec.token;
  }

  private onState(s: ConnectionState, previous: ConnectionState): void {
    if (this.done) return;
    const code = s.lastError ?? 'CLIENT_NETWORK';
    if (previous.status === 'connected' && s.status !== 'connected') {
      this.downAt ??= nowMs();
      record({ k: 'down', ...this.base(), reason: code });
      // A user not meant to reconnect (the SDK always would) ends here, as the lean one does.
      if (!this.spec.reconnect) return this.closeNow();
    } else if (TRYING.has(previous.status) && previous.retryAt === undefined && s !== previous) {
      // An attempt in flight failed: the SDK now waits (retryAt) or stopped.
      if (s.retryAt !== undefined || STOPPED.has(s.status))
        record({ k: 'err', ...this.base(), code, stage: 'connect' });
    }
    if (STOPPED.has(s.status)) {
      this.done = true;
      if (this.spec.reconnect) {
        this.stranded = true;
        const cause = previous.status === 'connected' ? 'io server disconnect' : 'connect_error';
        record({ k: 'stranded', ...this.base(), code, cause });
      }
    }
  }

  protected closeNow(): void {
    this.done = true;
    this.client?.close();
  }

  protected async send(
    action: ClientAction,
    timeoutMs: number | undefined,
  ): Promise<Ack<unknown> | undefined> {
    const client = this.client;
    if (!client) throw new NoAck('NOT_CONNECTED');
    try {
      const data: unknown = await client.request(
        action.event,
        action.payload,
        timeoutMs === undefined ? {} : { timeoutMs },
      );
      return { ok: true, data };
    } catch (err) {
      if (!(err instanceof SdkError)) throw new NoAck('INTERNAL');
      // The SDK's own codes (CLIENT_TIMEOUT, CLIENT_OFFLINE...) mean no answer came; the others are answers.
      if (isClientErrorCode(err.code)) throw new NoAck(err.code);
      return {
        ok: false,
        error: { code: err.code, message: err.message, retryable: err.retryable },
      };
    }
  }

  storm(mode: 'drop' | 'blackhole'): void {
    if (!this.isOpen) return;
    this.downAt = nowMs();
    const tcp = tcpOf(this.socket);
    if (mode === 'drop') tcp?.resetAndDestroy();
    else tcp?.pause();
  }

  finish(): void {
    clearTimeout(this.timer);
    clearTimeout(this.loopTimer);
    const state = this.isOpen ? 'up' : this.stranded ? 'stranded' : this.restoredOnce ? 'down' : 'failed';
    record({ k: 'end', ...this.base(), state });
    this.closeNow();
  }

  protected get finished(): boolean {
    return this.done;
  }

  get isOpen(): boolean {
    return !this.done && this.client?.state.status === 'connected';
  }
}
