/**
 * The history store: per stream (a client room, or a user's own stream for `userId` publishes) an epoch and
 * increasing offsets, and the HISTORY_SIZE newest messages, kept HISTORY_TTL_SECONDS after the stream's
 * last message (docs/protocol.md "Offsets, epochs and gaps"). Implemented on Redis (redis-history-store.ts:
 * one Lua script per call, in the stream's own slot) and in memory (memory-history-store.ts, injected
 * clock); one contract suite runs against both. A store that cannot answer rejects with
 * GatewayError('STORE_UNAVAILABLE'), like the other stores.
 */
import { randomBytes } from 'node:crypto';
import type { GapReason, RoomName, StreamPosition, UserId } from '@stayline/client-sdk/protocol';
import type { GatewayConfig } from '../config/index.ts';
import type { Logger } from '../infra/logger.ts';
import { MemoryHistoryStore } from './memory-history-store.ts';
import { openStoreClient, type StoreClientListener } from './redis/client.ts';
import type { ObserveCommand } from './redis/replies.ts';
import { RedisHistoryStore } from './redis-history-store.ts';

/** A stream: a client room's, or one user's own. */
export type StreamRef = { kind: 'room'; room: RoomName } | { kind: 'user'; userId: UserId };

/** A retained message. */
export interface HistoryMessage {
  offset: number;
  event: string;
  /** The published data (undefined when the publish had none). */
  data: unknown;
}

/** Why the messages after a position cannot all be replayed (what the store itself can tell). */
export type HistoryGap = Extract<GapReason, 'trimmed' | 'expired' | 'epoch-changed'>;

/** What `since` finds: the stream's head, and what follows the position. */
export interface HistoryRead {
  /** The stream's epoch now (a stream without history gets one, so a head always exists). */
  epoch: string;
  /** The stream's last offset now (0: no message in this epoch yet). */
  last: number;
  /**
   * The retained messages after the position, in order (empty without a position, or when the epoch
   * changed). With a `gap` they are what is left, for a node catching up; a client is not replayed them.
   */
  messages: HistoryMessage[];
  /** Set when the messages after the position are not all there. */
  gap: HistoryGap | undefined;
}

/**
 * Where the Redis store publishes an appended message itself (one step with the append): the Pub/Sub
 * channel, and the fields the message names besides its own (see lua/history-append.lua).
 */
export interface AppendBroadcast {
  channel: string;
  /** The socket.io room of the stream (`r:<room>` or `u:<userId>`). */
  room: string;
  /** The publishing node, which delivers its own copy (and skips this one). */
  node: string;
}

export interface HistoryStore {
  readonly kind: 'memory' | 'redis';
  /**
   * Appends a message (creating the stream's epoch when it has no history) and returns its position. With
   * `broadcast` the Redis store also PUBLISHes it (the memory store, one node, has nobody to tell).
   */
  append(
    stream: StreamRef,
    event: string,
    data: unknown,
    broadcast?: AppendBroadcast,
  ): Promise<StreamPosition>;
  /** The head, and the messages after `after` (none when `after` is undefined): see HistoryRead. */
  since(stream: StreamRef, after: StreamPosition | undefined): Promise<HistoryRead>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The limits a store applies. */
export interface HistoryLimits {
  /** HISTORY_SIZE: messages kept per stream (> 0; 0 means no store at all). */
  size: number;
  /** HISTORY_TTL_SECONDS: a message older than this is not replayed; a stream idle this long is gone. */
  ttlSeconds: number;
}

/** A fresh epoch: 11 url-safe characters, never reused in practice. */
export function newEpoch(): string {
  return randomBytes(8).toString('base64url');
}

/** A retained message with the time it was appended (what both stores keep). */
export interface TimedMessage extends HistoryMessage {
  atMs: number;
}

/**
 * The one rule of both stores: given the stream's head, its first retained offset, the retained messages
 * after `after` and the clock, what can be replayed from `after`. A position ahead of the head (the
 * history behind it was lost and begun again) is an epoch change.
 */
export function judgeRead(
  after: StreamPosition | undefined,
  head: { epoch: string; last: number; firstRetained: number; nowMs: number },
  following: readonly TimedMessage[],
  ttlSeconds: number,
): HistoryRead {
  const { epoch, last } = head;
  const strip = (m: TimedMessage): HistoryMessage => ({ offset: m.offset, event: m.event, data: m.data });
  if (after === undefined) return { epoch, last, messages: [], gap: undefined };
  if (after.epoch !== epoch || after.offset > last)
    return { epoch, last, messages: [], gap: 'epoch-changed' };
  if (after.offset === last) return { epoch, last, messages: [], gap: undefined };
  const messages = following.filter((m) => m.offset > after.offset);
  const firstNeeded = messages[0];
  if (
    firstNeeded === undefined ||
    firstNeeded.offset !== after.offset + 1 ||
    head.firstRetained > after.offset + 1
  )
    return { epoch, last, messages: messages.map(strip), gap: 'trimmed' };
  if (firstNeeded.atMs < head.nowMs - ttlSeconds * 1000)
    return { epoch, last, messages: messages.map(strip), gap: 'expired' };
  return { epoch, last, messages: messages.map(strip), gap: undefined };
}

/** Dependencies of createHistoryStore. */
export interface HistoryStoreDeps {
  logger: Logger;
  observeCommand?: ObserveCommand;
  /** Clock of the memory store, epoch ms. Default Date.now. (The Redis store uses Redis' clock.) */
  now?: () => number;
  onClient?: StoreClientListener;
}

/**
 * The history store the configuration asks for (its own Redis connection, so publishes never queue behind
 * session traffic), or undefined when HISTORY_SIZE is 0 (history off).
 */
export function createHistoryStore(
  config: Pick<GatewayConfig, 'store' | 'history'>,
  deps: HistoryStoreDeps,
): HistoryStore | undefined {
  const history = config.history;
  if (history === undefined || history.size === 0) return undefined;
  const limits: HistoryLimits = { size: history.size, ttlSeconds: history.ttlSeconds };
  const client = openStoreClient(config.store, deps, 'history-store');
  if (client === undefined)
    return new MemoryHistoryStore({ limits, ...(deps.now === undefined ? {} : { now: deps.now }) });
  return new RedisHistoryStore({
    redis: client.redis,
    ownsClient: client.owned,
    keyPrefix: config.store.keyPrefix,
    limits,
    ...(deps.observeCommand === undefined ? {} : { observeCommand: deps.observeCommand }),
  });
}
