/**
 * The in-memory history store (single node, no Redis): the same rules as the Redis store (history-store.ts,
 * judgeRead), with an injected clock for tests. A stream idle for HISTORY_TTL_SECONDS is forgotten, as its
 * Redis keys would expire.
 */
import type { StreamPosition } from '@stayline/client-sdk/protocol';
import {
  judgeRead,
  newEpoch,
  type HistoryLimits,
  type HistoryRead,
  type HistoryStore,
  type StreamRef,
  type TimedMessage,
} from './history-store.ts';
import { GatewayError } from '../errors/gateway-error.ts';

interface StreamState {
  epoch: string;
  last: number;
  messages: TimedMessage[];
  expiresAtMs: number;
}

export interface MemoryHistoryStoreOptions {
  limits: HistoryLimits;
  /** Epoch ms. Default Date.now. */
  now?: () => number;
}

export class MemoryHistoryStore implements HistoryStore {
  readonly kind = 'memory';
  private readonly streams = new Map<string, StreamState>();
  private readonly limits: HistoryLimits;
  private readonly now: () => number;
  private closed = false;
  private appendsSinceSweep = 0;

  constructor(options: MemoryHistoryStoreOptions) {
    this.limits = options.limits;
    this.now = options.now ?? Date.now;
  }

  append(stream: StreamRef, event: string, data: unknown): Promise<StreamPosition> {
    if (this.closed) return closedStore();
    const nowMs = this.now();
    const state = this.state(stream, nowMs);
    state.last += 1;
    // A deep copy, as Redis would keep: later changes to the caller's object are not history.
    const copy = data === undefined ? undefined : (JSON.parse(JSON.stringify(data)) as unknown);
    state.messages.push({ offset: state.last, event, data: copy, atMs: nowMs });
    if (state.messages.length > this.limits.size)
      state.messages.splice(0, state.messages.length - this.limits.size);
    state.expiresAtMs = nowMs + this.limits.ttlSeconds * 1000;
    // Idle streams are forgotten now and then, so memory stays bounded by the live ones.
    if (++this.appendsSinceSweep >= 1000) this.sweep(nowMs);
    return Promise.resolve({ epoch: state.epoch, offset: state.last });
  }

  since(stream: StreamRef, after: StreamPosition | undefined): Promise<HistoryRead> {
    if (this.closed) return closedStore();
    const nowMs = this.now();
    const state = this.state(stream, nowMs);
    const read = judgeRead(
      after,
      { epoch: state.epoch, last: state.last, firstRetained: state.messages[0]?.offset ?? 0, nowMs },
      after === undefined ? [] : state.messages.filter((m) => m.offset > after.offset),
      this.limits.ttlSeconds,
    );
    return Promise.resolve(read);
  }

  ping(): Promise<void> {
    return this.closed ? closedStore() : Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** The stream's state, created with a new epoch when it has none (never seen, or expired). */
  private state(stream: StreamRef, nowMs: number): StreamState {
    const key = stream.kind === 'room' ? `r:${stream.room}` : `u:${stream.userId}`;
    let state = this.streams.get(key);
    if (state === undefined || state.expiresAtMs <= nowMs) {
      state = {
        epoch: newEpoch(),
        last: 0,
        messages: [],
        expiresAtMs: nowMs + this.limits.ttlSeconds * 1000,
      };
      this.streams.set(key, state);
    }
    return state;
  }

  private sweep(nowMs: number): void {
    this.appendsSinceSweep = 0;
    for (const [key, state] of this.streams) if (state.expiresAtMs <= nowMs) this.streams.delete(key);
  }
}

function closedStore(): Promise<never> {
  return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'History store is closed'));
}
