/**
 * What every simulated user of a client worker shares, whichever client drives it: the run's init message,
 * the run clock, the record buffer (flushed to the coordinator every 100 ms) and the fan-out tallies.
 * Imports only the worker messages and the stats helpers; the sims (lean-sim.ts, sdk-sim.ts) import it.
 */
import { performance } from 'node:perf_hooks';
import { LatencyByLabel } from '../report/stats.ts';
import type { MessagePosition, StreamPosition } from '@stayline/client-sdk/protocol';
import {
  FANOUT_EVENT,
  emptyRoomTally,
  type ClientRecord,
  type FanoutTally,
  type InitMessage,
  type RoomTally,
} from './messages.ts';

/** The run this worker belongs to; set once by the coordinator's `init`. */
export const run: { init: InitMessage | undefined } = { init: undefined };

/** Milliseconds since the run started (the clock every record uses). */
export const nowMs = (): number =>
  performance.timeOrigin + performance.now() - (run.init?.runStartEpochMs ?? 0);

/** CPU this process used so far, in ms. */
export const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Sends one message to the coordinator (no-op outside a forked worker). */
export const send = (message: unknown): void => {
  process.send?.(message);
};

let records: ClientRecord[] = [];

/** Buffers one record for the next batch. */
export function record(r: ClientRecord): void {
  records.push(r);
}

/** Sends the buffered records now. */
export function flush(): void {
  if (records.length === 0) return;
  send({ type: 'batch', records, cpuMs: cpuMs() });
  records = [];
}
setInterval(flush, 100).unref();

/** A transport error as a short code for the report. */
export const errorCode = (err: unknown): string => {
  const message = err instanceof Error ? err.message : String(err);
  if (/ECONNREFUSED/.test(message)) return 'TRANSPORT_REFUSED';
  if (/ECONNRESET|socket hang up/.test(message)) return 'TRANSPORT_RESET';
  if (/EADDRNOTAVAIL|EADDRINUSE/.test(message)) return 'PORTS_EXHAUSTED';
  if (/EMFILE|ENFILE/.test(message)) return 'FDS_EXHAUSTED';
  if (/no session:restored within/.test(message)) return 'TIMEOUT';
  if (/closed \(/.test(message)) return 'TRANSPORT_CLOSED';
  return 'TRANSPORT_ERROR';
};

const fanoutLatency = new LatencyByLabel();
const fanoutRooms = new Map<string, RoomTally>();
/** Per room, per sequence number, how many of this worker's users received it. */
const fanoutReceivers = new Map<string, Map<number, number>>();
const tallyOf = (room: string): RoomTally => {
  let tally = fanoutRooms.get(room);
  if (!tally) fanoutRooms.set(room, (tally = emptyRoomTally()));
  return tally;
};

/** One user's record of the fan-out: sequence numbers per room, and the highest position per stream. */
export class FanoutSeen {
  readonly seqs = new Map<string, Set<number>>();
  readonly last = new Map<string, StreamPosition>();
}

/**
 * A fan-out message one user received (its handler ran, for the SDK), with its trailing position when it
 * had one. Duplicates are told by sequence number (the publisher's truth); reordering by position: a
 * message of the same stream and epoch whose offset is below one already received arrived out of order.
 */
export function onFanout(data: unknown, seen: FanoutSeen, position: MessagePosition | undefined): void {
  const d = data as { seq: number; sentAt: number; room: string; phase: string; size: number };
  const latency = performance.timeOrigin + performance.now() - d.sentAt;
  let seenInRoom = seen.seqs.get(d.room);
  if (!seenInRoom) seen.seqs.set(d.room, (seenInRoom = new Set()));
  const tally = tallyOf(d.room);
  if (seenInRoom.has(d.seq)) {
    tally.duplicates++;
    return;
  }
  seenInRoom.add(d.seq);
  tally.unique++;
  let receivers = fanoutReceivers.get(d.room);
  if (!receivers) fanoutReceivers.set(d.room, (receivers = new Map()));
  receivers.set(d.seq, (receivers.get(d.seq) ?? 0) + 1);
  if (position !== undefined) {
    tally.positioned++;
    const last = seen.last.get(position.stream);
    if (last !== undefined && last.epoch === position.epoch && position.offset < last.offset)
      tally.reordered++;
    else seen.last.set(position.stream, { epoch: position.epoch, offset: position.offset });
  }
  fanoutLatency.get(`phase:${d.phase}`).record(latency);
  fanoutLatency.get(`size:${d.size}`).record(latency);
  fanoutLatency.get('all').record(latency);
}

/** A gap one user noticed in a room's stream (fan-out rooms only; other streams are not the scenario's). */
export function onFanoutGap(room: string | undefined): void {
  if (room !== undefined && room.startsWith('fanout-')) tallyOf(room).gapEvents++;
}

/** This worker's fan-out tallies, encoded for the coordinator. */
export function fanoutTally(): FanoutTally {
  const latency: Record<string, string> = {};
  for (const [label, l] of fanoutLatency.byLabel) latency[label] = l.encode();
  const receivers: Record<string, [number, number][]> = {};
  for (const [room, bySeq] of fanoutReceivers) receivers[room] = [...bySeq];
  return { latency, rooms: Object.fromEntries(fanoutRooms), receivers };
}

export { FANOUT_EVENT };
