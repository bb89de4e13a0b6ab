/**
 * What a simulated user does once connected, whichever client carries it (the lean client, lean-sim.ts,
 * or the real SDK, sdk-sim.ts): the `up` record with its restore check against the snapshot, the setup
 * requests whose acks make that snapshot, the race and the open-loop request schedule, and the records of
 * every request. A subclass opens and reopens the connection and sends one request (`send`).
 */
import type {
  Ack,
  MessagePosition,
  QueuePlace,
  RestoredSession,
  RoomResult,
  SeatHold,
} from '@stayline/client-sdk/protocol';
import { compareRestored, type StateSnapshot } from '../state-check.ts';
import type { ClientAction, ClientRecord, ClientSpec } from './messages.ts';
import { FanoutSeen, nowMs, onFanout, record } from './worker-io.ts';

/** A request that got no ack: its code for the `err` record (NOT_CONNECTED, ACK_TIMEOUT, CLIENT_...). */
export class NoAck extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

/** One simulated user (see the file comment). */
export abstract class SimBase {
  protected restoredOnce = false;
  protected snapshot: StateSnapshot | undefined;
  /** When the current drop was noticed (ms since the run start); undefined while up. */
  protected downAt: number | undefined;
  protected loopTimer: NodeJS.Timeout | undefined;
  protected readonly seen = new FanoutSeen();

  constructor(protected readonly spec: ClientSpec) {}

  /** Starts the user's timeline. */
  abstract start(): void;
  /** Drops (TCP RST) or black-holes the live connection. */
  abstract storm(mode: 'drop' | 'blackhole'): void;
  /** Ends the user for good and records how it ended. */
  abstract finish(): void;
  /** True while the user has a live session. */
  abstract get isOpen(): boolean;
  /** True once the user is done (finished, stranded, or closed on purpose). */
  protected abstract get finished(): boolean;
  /** Sends one request; resolves with its ack, or undefined when it was lost; throws NoAck. */
  protected abstract send(
    action: ClientAction,
    timeoutMs: number | undefined,
  ): Promise<Ack<unknown> | undefined>;
  /** Closes politely after a restore (connect ramps). */
  protected abstract closeNow(): void;

  get label(): string {
    return this.spec.label;
  }

  protected base(): { t: number; id: number; label: string } {
    return { t: nowMs(), id: this.spec.id, label: this.spec.label };
  }

  /**
   * A session arrived `ms` after the attempt started (its engine opened `openMs` after, when the client can
   * tell): record it, check it, and run setup the first time.
   */
  protected async sessionUp(session: unknown, ms: number, openMs?: number): Promise<void> {
    const first = !this.restoredOnce;
    this.restoredOnce = true;
    const s = session as Partial<RestoredSession> | undefined;
    const seats = (s?.holds ?? []).flatMap((h) => h.seatIds.map((seat) => `${h.eventId}/${seat}`));
    const up: ClientRecord = {
      k: 'up',
      ...this.base(),
      ms,
      ...(openMs === undefined ? {} : { openMs }),
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
      this.closeNow();
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

  protected async request(action: ClientAction, timeoutMs?: number): Promise<Ack<unknown> | undefined> {
    const started = nowMs();
    let ack: Ack<unknown> | undefined;
    try {
      ack = await this.send(action, timeoutMs);
    } catch (err) {
      const code = err instanceof NoAck ? err.code : 'ACK_TIMEOUT';
      record({ k: 'err', ...this.base(), code, stage: 'ack', event: action.event, ms: nowMs() - started });
      return undefined;
    }
    const ms = nowMs() - started;
    if (ack === undefined) {
      record({ k: 'err', ...this.base(), code: 'ACK_LOST', stage: 'ack', event: action.event, ms });
      return undefined;
    }
    if (ack.ok) {
      if (action.event === 'room:join') this.roomJoined(ack.data as RoomResult);
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
    if (!this.finished) {
      this.snapshot = snapshot;
      record({ k: 'ready', ...this.base(), snapshot });
    }
  }

  /** A room:join was answered (its position starts the room's stream, for a client that tracks them). */
  protected roomJoined(_result: RoomResult): void {}

  /** A fan-out message arrived, with its trailing position when it had one. */
  protected fanout(data: unknown, position: MessagePosition | undefined): void {
    onFanout(data, this.seen, position);
  }
}

/** What of an ack's data the coordinator needs (contention correctness), kept small. */
function ackData(event: string, data: unknown): unknown {
  if (event === 'queue:join') return { position: (data as QueuePlace).position };
  if (event === 'seat:hold') return { seatIds: (data as SeatHold).seatIds, fence: (data as SeatHold).fence };
  return undefined;
}
