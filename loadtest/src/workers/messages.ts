/**
 * The messages between the coordinator (the CLI process) and its client workers (child processes that
 * each run thousands of lean clients), and its attack worker (the `abuse` scenario's hostile clients).
 * Records are batched every 100 ms; times are milliseconds since the run started (shared epoch, so
 * workers agree).
 */
import type { MismatchKind, StateSnapshot } from '../state-check.ts';
import type { BackoffPolicy } from '../backoff.ts';
import type { AttackName, AttackParams } from '../attacks/attacks.ts';

/** The client that carries the simulated users (`--client`). */
export type ClientKind = 'lean' | 'sdk';

/** The app event the fanout scenario publishes through /v1/publish. */
export const FANOUT_EVENT = 'loadtest:fanout';

/** A request a client sends once connected: in order after its first restore, or all at once at `raceAt`. */
export interface ClientAction {
  event:
    'room:join' | 'room:leave' | 'queue:join' | 'seat:hold' | 'seat:release' | 'queue:leave' | 'seat:map';
  payload: Record<string, unknown>;
}

/** One simulated user. */
export interface ClientSpec {
  id: number;
  userId: string;
  token: string;
  /** Candidate nodes: attempt n goes to urls[n % length], as a load balancer would rotate. */
  urls: string[];
  localAddress?: string;
  /** When to open the first connection (ms after the run start). */
  startAt: number;
  /** Requests to send, one after another, after the first `session:restored`; their acks make the snapshot. */
  setup: ClientAction[];
  /** Requests fired together at `raceAt` (contention), after setup. */
  race?: { at: number; actions: ClientAction[] };
  /**
   * Requests sent on a fixed schedule (open loop: the next one never waits for an ack), `actions` in turn,
   * one every `intervalMs` from `from` until `until` (ms after the run start), each given `timeoutMs` for
   * its ack. Starts after the first restore and setup; while the client is down, ticks fail as NOT_CONNECTED.
   */
  loop?: { actions: ClientAction[]; intervalMs: number; from: number; until: number; timeoutMs: number };
  /** Reconnect (with the policy) after an unrequested close or a failed attempt. */
  reconnect: boolean;
  /** Close politely as soon as the session is restored (open-loop connect ramps). */
  closeAfterRestore?: boolean;
  /** A replayed timeline (ms after the run start); replaces startAt/reconnect. */
  script?: { at: number; op: 'connect' | 'drop' | 'close' }[];
  /** Group label carried on every record (ramp step, 'storm', 'baseline'...). */
  label: string;
}

export interface InitMessage {
  type: 'init';
  runStartEpochMs: number;
  policy: BackoffPolicy;
  /** Which client carries the users: the lean one (scale, any policy) or the real SDK. */
  client: ClientKind;
  connectTimeoutMs: number;
  /** No attempt starts after this (ms after the run start): every run stops by itself. */
  stopAt: number;
}

export type ToWorker =
  | InitMessage
  | { type: 'add'; clients: ClientSpec[] }
  | { type: 'storm'; mode: 'drop' | 'blackhole' }
  /** Ends the clients of one label for good (closed, no reconnect). */
  | { type: 'end'; label: string }
  | { type: 'report' }
  | { type: 'finish' };

/** A record of something one client did. */
export type ClientRecord =
  | { k: 'hs'; t: number; id: number; label: string }
  | {
      k: 'up';
      t: number;
      id: number;
      label: string;
      /** Attempt start → session:restored. */
      ms: number;
      /** Attempt start → the server's Engine.IO open packet (lean client only). */
      openMs?: number;
      first: boolean;
      recovered: boolean;
      /** The client closes politely right away (connect ramps): it never counts as connected. */
      closing?: boolean;
      /** Drop noticed → session:restored (reconnects only). */
      sinceDropMs?: number;
      mismatch?: MismatchKind[];
      /** Seats this user holds per the restored session, as `eventId/seatId` (duplicate-seat check). */
      seats?: string[];
    }
  | { k: 'ready'; t: number; id: number; label: string; snapshot: StateSnapshot }
  | {
      k: 'ack';
      t: number;
      id: number;
      label: string;
      event: string;
      ms: number;
      ok: boolean;
      code?: string;
      data?: unknown;
    }
  | {
      k: 'err';
      t: number;
      id: number;
      label: string;
      code: string;
      stage: 'connect' | 'ack';
      /** For a failed request: its event and how long it waited (send → timeout or loss). */
      event?: string;
      ms?: number;
    }
  /** The client stopped for good, as its policy says (socket.io-client after a `connect_error`). */
  | {
      k: 'stranded';
      t: number;
      id: number;
      label: string;
      code: string;
      cause: 'connect_error' | 'io server disconnect';
    }
  | { k: 'down'; t: number; id: number; label: string; reason: string }
  | { k: 'end'; t: number; id: number; label: string; state: 'up' | 'down' | 'failed' | 'stranded' };

/** What the members of one fan-out room received, all together (the handlers' view for SDK clients). */
export interface RoomTally {
  /** Distinct sequence numbers received, summed over members. */
  unique: number;
  /** Sequence numbers received again by a member that had them. */
  duplicates: number;
  /**
   * Messages that arrived after a later one of the same stream and epoch (by their trailing positions;
   * only counted for messages that carry one).
   */
  reordered: number;
  /** Deliveries that carried a trailing position (0 when the gateway keeps no history). */
  positioned: number;
  /**
   * Gaps the members noticed: gap events the SDK reported (`--client sdk`), or, for the lean client, offset
   * jumps and new epochs on the wire and the rooms `session:restored` named in `gaps`.
   */
  gapEvents: number;
}

/** A RoomTally of nothing. */
export const emptyRoomTally = (): RoomTally => ({
  unique: 0,
  duplicates: 0,
  reordered: 0,
  positioned: 0,
  gapEvents: 0,
});

/** Fan-out deliveries one worker saw. */
export interface FanoutTally {
  /** Latency histograms (encoded) by `phase` and by `size:<members>`. */
  latency: Record<string, string>;
  /** Per room (`fanout-<size>`). */
  rooms: Record<string, RoomTally>;
  /**
   * Per room, `[seq, members that received it]` pairs: the coordinator counts a publish whose outcome it
   * never learnt (a timeout, a reset) as published when a member received it.
   */
  receivers: Record<string, [number, number][]>;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'batch'; records: ClientRecord[]; cpuMs: number }
  | { type: 'report'; fanout: FanoutTally; cpuMs: number; open: number };

/** The coordinator to the attack worker: run one attack until its deadline (epoch ms), or exit. */
export type ToAttacker =
  { type: 'run'; name: AttackName; params: AttackParams; untilEpochMs: number } | { type: 'exit' };

/** The attack worker to the coordinator: started, or what one attack counted (or why it failed). */
export type FromAttacker =
  | { type: 'ready' }
  | { type: 'done'; name: AttackName; counts: Record<string, number> }
  | { type: 'failed'; name: AttackName; message: string };
