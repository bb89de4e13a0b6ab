/**
 * A simulated user on the lean client (src/lean-client.ts), for scale: a small state machine (connecting →
 * up → down → waiting → connecting ...) whose every retry decision is its policy's (src/client-policy.ts):
 * with `socketio` exactly what socket.io-client does, including never coming back after a
 * `connect_error`; with `sdk` the Stayline SDK's decisions and its own backoff function.
 */
import { StreamPositions, trailingPosition } from '@stayline/client-sdk';
import type { Ack, RestoredSession, RoomResult } from '@stayline/client-sdk/protocol';
import {
  declaresRetryableConnectErrors,
  nextStep,
  sendsPositions,
  timeoutCoversOpenOnly,
  type Interruption,
} from '../client-policy.ts';
import { LeanClient } from '../lean-client.ts';
import type { ClientAction, ClientSpec } from './messages.ts';
import { NoAck, SimBase } from './sim-base.ts';
import { FANOUT_EVENT, errorCode, nowMs, onFanoutGap, record, run } from './worker-io.ts';

/** The only server events a load client reads (onEvent); the lean client skips decoding the rest. */
const WORKER_EVENTS: ReadonlySet<string> = new Set(['server:draining', 'auth:expired', FANOUT_EVENT]);

/** One user on the lean client (see the file comment). */
export class LeanSim extends SimBase {
  private client: LeanClient | undefined;
  private state: 'idle' | 'connecting' | 'up' | 'waiting' | 'done' = 'idle';
  /** The policy's attempt counter (socket.io-client's `backoff.attempts`; 0 after a session came). */
  private attempt = 0;
  private stranded = false;
  /** The server sent `auth:expired` on this connection (a following server disconnect may be retried). */
  private toldRetryable = false;
  private urlIndex = 0;
  private hintMs: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Resolves the scripted drop or close waiting for this connection's end (see runScript). */
  private scriptedEnd: (() => void) | undefined;
  /**
   * The user's stream positions, kept as the SDK keeps them (its own class), for the handshake: the lean
   * client then gets the same replay as the SDK. What the wire delivered is counted raw, not filtered.
   */
  private readonly positions = new StreamPositions();

  start(): void {
    if (this.spec.script) {
      void this.runScript(this.spec.script);
      return;
    }
    this.timer = setTimeout(() => void this.connect(), Math.max(0, this.spec.startAt - nowMs()));
  }

  /**
   * Plays the script in order, each step at its time but not before the one ahead is done (a connect until
   * its session or failure, a drop until the close): steps on their own timers skipped the drop and next
   * connect of a user still connecting, so a busy machine replayed 32 of a trace's 41 connects.
   */
  private async runScript(script: NonNullable<ClientSpec['script']>): Promise<void> {
    for (const step of script) {
      const waitMs = step.at - nowMs();
      // finish() clears this timer: the script then stops here.
      if (waitMs > 0) await new Promise((resolve) => (this.timer = setTimeout(resolve, waitMs)));
      if (this.finished) return;
      await this.scripted(step.op);
    }
  }

  private async scripted(op: 'connect' | 'drop' | 'close'): Promise<void> {
    if (op === 'connect') {
      if (this.state === 'up') {
        // A server notices a dropped connection only after the client's new one may have connected, so a
        // trace can hold connect, connect, drop for one user: the new connection replaces this one.
        this.downAt ??= nowMs();
        record({ k: 'down', ...this.base(), reason: 'replaced' });
        this.client?.drop();
      }
      await this.connect();
    } else if (this.state === 'up') {
      const ended = new Promise<void>((resolve) => (this.scriptedEnd = resolve));
      if (op === 'drop') this.client?.drop();
      else this.client?.close();
      await ended;
    }
  }

  private async connect(): Promise<void> {
    const init = run.init;
    if (this.state === 'done') return;
    if (init === undefined || nowMs() > init.stopAt) {
      this.state = 'done';
      return;
    }
    this.state = 'connecting';
    const url = this.spec.urls[this.urlIndex % this.spec.urls.length] ?? '';
    record({ k: 'hs', ...this.base() });
    this.toldRetryable = false;
    const positions = sendsPositions(init.policy.kind) ? this.positions.forHandshake() : undefined;
    const client = new LeanClient({
      url,
      token: this.spec.token,
      retryableConnectErrors: declaresRetryableConnectErrors(init.policy.kind),
      openTimeoutOnly: timeoutCoversOpenOnly(init.policy.kind),
      ...(this.spec.localAddress === undefined ? {} : { localAddress: this.spec.localAddress }),
      ...(positions === undefined ? {} : { positions }),
      onEvent: (event, data, rest) => this.onEvent(event, data, rest),
      events: WORKER_EVENTS,
      onClose: (reason) => this.onClose(client, reason),
    });
    this.client = client;
    const started = nowMs();
    try {
      const outcome = await client.connect(init.connectTimeoutMs);
      if (this.finished) {
        client.drop(); // finished while connecting
        return;
      }
      if (outcome.error) {
        const code = outcome.error.code ?? 'CONNECT_ERROR';
        record({ k: 'err', ...this.base(), code, stage: 'connect' });
        this.after({
          kind: 'refused',
          code,
          retryable: outcome.error.retryable,
          retryAfterMs: outcome.error.retryAfterMs,
        });
        return;
      }
      this.state = 'up';
      this.attempt = 0;
      // Rooms named in `gaps` lost messages for good (older gateways send no gaps).
      for (const gap of this.positions.restored(outcome.session as RestoredSession)) onFanoutGap(gap.room);
      await this.sessionUp(outcome.session, nowMs() - started, outcome.openMs);
    } catch (err) {
      if (this.finished) return;
      record({ k: 'err', ...this.base(), code: errorCode(err), stage: 'connect' });
      this.after(this.interruption(client));
    }
  }

  /** How `client`'s attempt or connection ended, in the policy's terms. */
  private interruption(client: LeanClient): Interruption {
    if (client.endReason === 'io server disconnect')
      return { kind: 'server-disconnect', hintMs: this.hintMs, toldRetryable: this.toldRetryable };
    if (client.engineOpened) return { kind: 'closed', hintMs: this.hintMs };
    return { kind: 'open-failed' };
  }

  /** Retries after the policy's delay, or stops for good (stranded) when the policy says so. */
  private after(what: Interruption): void {
    const init = run.init;
    if (this.spec.script) {
      this.state = 'idle'; // the script says when to come back
      return;
    }
    if (!this.spec.reconnect || init === undefined) {
      this.state = 'done';
      return;
    }
    const next = nextStep(init.policy, this.attempt, what);
    this.hintMs = undefined;
    if (!next.retry) {
      this.stranded = true;
      this.state = 'done';
      record({ k: 'stranded', ...this.base(), code: next.code, cause: next.cause });
      return;
    }
    const delay = next.delayMs;
    this.attempt = next.attempt;
    // The next attempt goes to another node. Leaving its first node, a client skips 1 to n - 1 nodes by its
    // id, so the clients of a dead node spread evenly over the survivors, as behind a load balancer, instead
    // of all landing on the next node in the list.
    const others = Math.max(1, this.spec.urls.length - 1);
    this.urlIndex += this.urlIndex === 0 ? 1 + (this.spec.id % others) : 1;
    if (nowMs() + delay > init.stopAt) {
      this.state = 'done';
      return;
    }
    this.state = 'waiting';
    this.timer = setTimeout(() => void this.connect(), delay);
  }

  protected closeNow(): void {
    this.state = 'done';
    this.client?.close();
  }

  protected async send(
    action: ClientAction,
    timeoutMs: number | undefined,
  ): Promise<Ack<unknown> | undefined> {
    const client = this.client;
    if (!client) throw new NoAck('NOT_CONNECTED');
    try {
      return (await client.request(action.event, action.payload, timeoutMs)) as Ack<unknown> | undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code = errorCode(err);
      throw new NoAck(
        message === 'not connected' ? 'NOT_CONNECTED' : code === 'TRANSPORT_ERROR' ? 'ACK_TIMEOUT' : code,
      );
    }
  }

  protected override roomJoined(result: RoomResult): void {
    this.positions.joined(result.room, result.position);
  }

  /** Keep WORKER_EVENTS in step with what this reads. */
  private onEvent(event: string, data: unknown, rest: unknown[]): void {
    if (event === 'server:draining') {
      this.hintMs = (data as { reconnectAfterMs?: number } | undefined)?.reconnectAfterMs;
      return;
    }
    if (event === 'auth:expired') {
      this.toldRetryable = (data as { retryable?: boolean } | undefined)?.retryable === true;
      return;
    }
    if (event === FANOUT_EVENT) {
      const position = trailingPosition([data, ...rest]);
      // Jumps and new epochs on the wire are gaps the lean client noticed; the message counts either way.
      if (position !== undefined) onFanoutGap(this.positions.accept(position).gap?.room);
      this.fanout(data, position);
    }
  }

  private onClose(client: LeanClient, reason: string): void {
    if (client !== this.client || this.state !== 'up') return;
    // Resolved now, run after this handler: the script's next step sees the state set below.
    this.scriptedEnd?.();
    this.scriptedEnd = undefined;
    if (reason === 'closed') {
      this.state = this.spec.script ? 'idle' : 'done';
      return;
    }
    this.downAt ??= nowMs();
    record({ k: 'down', ...this.base(), reason });
    this.state = 'idle';
    this.after(this.interruption(client));
  }

  storm(mode: 'drop' | 'blackhole'): void {
    if (this.state !== 'up') return;
    this.downAt = nowMs();
    if (mode === 'drop') this.client?.drop();
    else this.client?.blackhole();
  }

  finish(): void {
    clearTimeout(this.timer);
    clearTimeout(this.loopTimer);
    const state =
      this.state === 'up' ? 'up' : this.stranded ? 'stranded' : this.restoredOnce ? 'down' : 'failed';
    record({ k: 'end', ...this.base(), state });
    this.state = 'done';
    this.client?.drop();
  }

  /** True once finish() ran (read after an await, where the narrowed `state` type would mislead). */
  protected get finished(): boolean {
    return this.state === 'done';
  }

  get isOpen(): boolean {
    return this.state === 'up';
  }
}
