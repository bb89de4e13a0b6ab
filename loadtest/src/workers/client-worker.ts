/**
 * A client worker: a child process that runs thousands of simulated users with the lean client, each a
 * small state machine (connecting → up → down → waiting → connecting ...), and streams what they did to
 * the coordinator. What a user does after an attempt or a connection ends is its policy's
 * (src/client-policy.ts): with `socketio` exactly what socket.io-client does, including never coming back
 * after a `connect_error`. Started by pool.ts with `fork`; talks only over the IPC channel.
 */
import { performance } from 'node:perf_hooks';
import {
  declaresRetryableConnectErrors,
  nextStep,
  timeoutCoversOpenOnly,
  type Interruption,
} from '../client-policy.ts';
import { LeanClient } from '../lean-client.ts';
import { LatencyByLabel } from '../report/stats.ts';
import { compareRestored, type StateSnapshot } from '../state-check.ts';
import type { Ack, QueuePlace, RestoredSession, SeatHold } from '@stayline/client-sdk/protocol';
import {
  FANOUT_EVENT,
  type ClientAction,
  type ClientRecord,
  type ClientSpec,
  type FanoutTally,
  type InitMessage,
  type ToWorker,
} from './messages.ts';

/** The only server events a load client reads (onEvent); the lean client skips decoding the rest. */
const WORKER_EVENTS: ReadonlySet<string> = new Set(['server:draining', 'auth:expired', FANOUT_EVENT]);

let init: InitMessage | undefined;
let records: ClientRecord[] = [];
const sims = new Set<Sim>();
const fanoutLatency = new LatencyByLabel();
const fanoutRooms = new Map<string, { unique: number; duplicates: number }>();

const nowMs = (): number => performance.timeOrigin + performance.now() - (init?.runStartEpochMs ?? 0);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const send = (message: unknown): void => {
  process.send?.(message);
};

function record(r: ClientRecord): void {
  records.push(r);
}

function flush(): void {
  if (records.length === 0) return;
  send({ type: 'batch', records, cpuMs: cpuMs() });
  records = [];
}
setInterval(flush, 100).unref();

const errorCode = (err: unknown): string => {
  const message = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(message)) return 'TRANSPORT_REFUSED';
  if (/ECONNRESET|socket hang up/.test(message)) return 'TRANSPORT_RESET';
  if (/EADDRNOTAVAIL|EADDRINUSE/.test(message)) return 'PORTS_EXHAUSTED';
  if (/EMFILE|ENFILE/.test(message)) return 'FDS_EXHAUSTED';
  if (/no session:restored within/.test(message)) return 'TIMEOUT';
  if (/closed \(/.test(message)) return 'TRANSPORT_CLOSED';
  return 'TRANSPORT_ERROR';
};

class Sim {
  private client: LeanClient | undefined;
  private state: 'idle' | 'connecting' | 'up' | 'waiting' | 'done' = 'idle';
  /** The policy's attempt counter (socket.io-client's `backoff.attempts`; 0 after a session came). */
  private attempt = 0;
  private stranded = false;
  /** The server sent `auth:expired` on this connection (a following server disconnect may be retried). */
  private toldRetryable = false;
  private loopTimer: NodeJS.Timeout | undefined;
  private urlIndex = 0;
  private restoredOnce = false;
  private snapshot: StateSnapshot | undefined;
  private downAt: number | undefined;
  private hintMs: number | undefined;
  private readonly seen = new Map<string, Set<number>>();
  private timer: NodeJS.Timeout | undefined;
  /** Resolves the scripted drop or close waiting for this connection's end (see runScript). */
  private scriptedEnd: (() => void) | undefined;

  constructor(private readonly spec: ClientSpec) {}

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

  private base(): { t: number; id: number; label: string } {
    return { t: nowMs(), id: this.spec.id, label: this.spec.label };
  }

  private async connect(): Promise<void> {
    if (this.state === 'done') return;
    if (init === undefined || nowMs() > init.stopAt) {
      this.state = 'done';
      return;
    }
    this.state = 'connecting';
    const url = this.spec.urls[this.urlIndex % this.spec.urls.length] ?? '';
    record({ k: 'hs', ...this.base() });
    this.toldRetryable = false;
    const client = new LeanClient({
      url,
      token: this.spec.token,
      retryableConnectErrors: declaresRetryableConnectErrors(init.policy.kind),
      openTimeoutOnly: timeoutCoversOpenOnly(init.policy.kind),
      ...(this.spec.localAddress === undefined ? {} : { localAddress: this.spec.localAddress }),
      onEvent: (event, data) => this.onEvent(event, data),
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
      await this.onUp(outcome.session, nowMs() - started);
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

  private async onUp(session: unknown, ms: number): Promise<void> {
    this.state = 'up';
    const first = !this.restoredOnce;
    this.restoredOnce = true;
    this.attempt = 0;
    const s = session as Partial<RestoredSession> | undefined;
    const seats = (s?.holds ?? []).flatMap((h) => h.seatIds.map((seat) => `${h.eventId}/${seat}`));
    const up: ClientRecord = {
      k: 'up',
      ...this.base(),
      ms,
      first,
      recovered: s?.recovered === true,
      ...(seats.length > 0 ? { seats } : {}),
      ...(this.spec.closeAfterRestore ? { closing: true } : {}),
    };
    if (!first && this.downAt !== undefined && !this.spec.script) {
      up.sinceDropMs = up.t - this.downAt;
      if (this.snapshot) up.mismatch = compareRestored(this.snapshot, session);
    }
    this.downAt = undefined;
    record(up);
    if (this.spec.closeAfterRestore) {
      this.state = 'done';
      this.client?.close();
      return;
    }
    if (first) {
      await this.runSetup();
      this.startLoop();
      if (this.spec.race) {
        const race = this.spec.race;
        setTimeout(
          () => void Promise.all(race.actions.map((a) => this.request(a))),
          Math.max(0, race.at - nowMs()),
        );
      }
    }
  }

  private async request(action: ClientAction, timeoutMs?: number): Promise<Ack<unknown> | undefined> {
    const client = this.client;
    if (!client) return undefined;
    const started = nowMs();
    let ack: Ack<unknown> | undefined;
    try {
      ack = (await client.request(action.event, action.payload, timeoutMs)) as Ack<unknown> | undefined;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const code =
        message === 'not connected'
          ? 'NOT_CONNECTED'
          : errorCode(err) === 'TRANSPORT_ERROR'
            ? 'ACK_TIMEOUT'
            : errorCode(err);
      record({ k: 'err', ...this.base(), code, stage: 'ack', event: action.event, ms: nowMs() - started });
      return undefined;
    }
    const ms = nowMs() - started;
    if (ack === undefined) {
      record({ k: 'err', ...this.base(), code: 'ACK_LOST', stage: 'ack', event: action.event, ms });
      return undefined;
    }
    if (ack.ok) {
      record({
        k: 'ack',
        ...this.base(),
        event: action.event,
        ms,
        ok: true,
        data: ackData(action.event, ack.data),
      });
    } else {
      record({ k: 'ack', ...this.base(), event: action.event, ms, ok: false, code: ack.error.code });
      record({ k: 'err', ...this.base(), code: ack.error.code, stage: 'ack' });
    }
    return ack;
  }

  /** The open-loop request schedule of `spec.loop`: tick n at from + n·interval, whatever the acks do. */
  private startLoop(): void {
    const loop = this.spec.loop;
    if (!loop || loop.actions.length === 0 || this.loopTimer !== undefined) return;
    let n = Math.max(0, Math.ceil((nowMs() - loop.from) / loop.intervalMs));
    const tick = (): void => {
      if (this.finished) return;
      const due = loop.from + n * loop.intervalMs;
      if (due >= loop.until) return;
      const lag = nowMs() - due;
      if (lag >= 0) {
        const action = loop.actions[n % loop.actions.length];
        n++;
        if (action) void this.request(action, loop.timeoutMs);
      }
      this.loopTimer = setTimeout(tick, Math.max(0, loop.from + n * loop.intervalMs - nowMs()));
    };
    this.loopTimer = setTimeout(tick, Math.max(0, loop.from + n * loop.intervalMs - nowMs()));
  }

  private async runSetup(): Promise<void> {
    const snapshot: StateSnapshot = { rooms: [], queues: [], holds: [] };
    for (const action of this.spec.setup) {
      const ack = await this.request(action);
      if (!ack?.ok) continue;
      if (action.event === 'room:join') snapshot.rooms = [...(ack.data as { rooms: string[] }).rooms];
      if (action.event === 'queue:join') snapshot.queues.push(ack.data as QueuePlace);
      if (action.event === 'seat:hold') snapshot.holds.push(ack.data as SeatHold);
    }
    if (this.state !== 'done') {
      this.snapshot = snapshot;
      record({ k: 'ready', ...this.base(), snapshot });
    }
  }

  /** Keep WORKER_EVENTS in step with what this reads. */
  private onEvent(event: string, data: unknown): void {
    if (event === 'server:draining') {
      this.hintMs = (data as { reconnectAfterMs?: number } | undefined)?.reconnectAfterMs;
      return;
    }
    if (event === 'auth:expired') {
      this.toldRetryable = (data as { retryable?: boolean } | undefined)?.retryable === true;
      return;
    }
    if (event !== FANOUT_EVENT) return;
    const d = data as { seq: number; sentAt: number; room: string; phase: string; size: number };
    const latency = performance.timeOrigin + performance.now() - d.sentAt;
    let seen = this.seen.get(d.room);
    if (!seen) this.seen.set(d.room, (seen = new Set()));
    let tally = fanoutRooms.get(d.room);
    if (!tally) fanoutRooms.set(d.room, (tally = { unique: 0, duplicates: 0 }));
    if (seen.has(d.seq)) {
      tally.duplicates++;
      return;
    }
    seen.add(d.seq);
    tally.unique++;
    fanoutLatency.get(`phase:${d.phase}`).record(latency);
    fanoutLatency.get(`size:${d.size}`).record(latency);
    fanoutLatency.get('all').record(latency);
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

  get label(): string {
    return this.spec.label;
  }

  /** True once finish() ran (read after an await, where the narrowed `state` type would mislead). */
  private get finished(): boolean {
    return this.state === 'done';
  }

  get isOpen(): boolean {
    return this.state === 'up';
  }
}

/** What of an ack's data the coordinator needs (contention correctness), kept small. */
function ackData(event: string, data: unknown): unknown {
  if (event === 'queue:join') return { position: (data as QueuePlace).position };
  if (event === 'seat:hold') return { seatIds: (data as SeatHold).seatIds, fence: (data as SeatHold).fence };
  return undefined;
}

function fanoutTally(): FanoutTally {
  const latency: Record<string, string> = {};
  for (const [label, l] of fanoutLatency.byLabel) latency[label] = l.encode();
  return { latency, rooms: Object.fromEntries(fanoutRooms) };
}

process.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'init':
      init = message;
      send({ type: 'ready' });
      return;
    case 'add':
      for (const spec of message.clients) {
        const sim = new Sim(spec);
        sims.add(sim);
        sim.start();
      }
      return;
    case 'storm':
      for (const sim of sims) sim.storm(message.mode);
      return;
    case 'end':
      for (const sim of sims) if (sim.label === message.label) sim.finish();
      return;
    case 'report':
      flush();
      send({
        type: 'report',
        fanout: fanoutTally(),
        cpuMs: cpuMs(),
        open: [...sims].filter((s) => s.isOpen).length,
      });
      return;
    case 'finish':
      for (const sim of sims) sim.finish();
      flush();
      send({ type: 'report', fanout: fanoutTally(), cpuMs: cpuMs(), open: 0 });
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
