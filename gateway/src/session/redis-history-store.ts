/**
 * The Redis history store: per stream a meta hash {epoch, last} and a Redis stream of the retained
 * messages (entry id `<offset>-0`), both in the stream's own slot (redis/stream-keys.ts); append and read are
 * one Lua script each (lua/history-append.lua, lua/history-since.lua). See history-store.ts for the contract.
 */
import type { StreamPosition } from '@stayline/client-sdk/protocol';
import { RedisStore, type RedisStoreClient } from './redis/redis-store.ts';
import {
  judgeRead,
  type AppendBroadcast,
  newEpoch,
  type HistoryLimits,
  type HistoryRead,
  type HistoryStore,
  type StreamRef,
  type TimedMessage,
} from './history-store.ts';
import { asArray, asInt, asString, unexpected } from './redis/replies.ts';
import { defineScripts, type Scripts } from './redis/scripts.ts';
import { createStreamKeys, type StreamKeys } from './redis/stream-keys.ts';

export interface RedisHistoryStoreOptions extends RedisStoreClient {
  keyPrefix: string;
  limits: HistoryLimits;
}

export class RedisHistoryStore extends RedisStore implements HistoryStore {
  readonly kind = 'redis';
  private readonly scripts: Scripts;
  private readonly keys: (stream: StreamRef) => StreamKeys;
  private readonly limits: HistoryLimits;

  constructor(options: RedisHistoryStoreOptions) {
    super(options, 'History store');
    this.scripts = defineScripts(options.redis);
    this.keys = createStreamKeys(options.keyPrefix);
    this.limits = options.limits;
  }

  append(
    stream: StreamRef,
    event: string,
    data: unknown,
    broadcast?: AppendBroadcast,
  ): Promise<StreamPosition> {
    return this.run('historyAppend', async () => {
      const reply = asArray(
        'historyAppend',
        await this.scripts.historyAppend(
          this.keys(stream),
          newEpoch(),
          this.limits.size,
          this.limits.ttlSeconds * 1000,
          event,
          data === undefined ? '' : JSON.stringify(data),
          broadcast?.channel ?? '',
          broadcast?.room ?? '',
          broadcast?.node ?? '',
        ),
      );
      return { epoch: asString('historyAppend', reply[0]), offset: asInt('historyAppend', reply[1]) };
    });
  }

  since(stream: StreamRef, after: StreamPosition | undefined): Promise<HistoryRead> {
    return this.run('historySince', async () => {
      const reply = asArray(
        'historySince',
        await this.scripts.historySince(
          this.keys(stream),
          newEpoch(),
          this.limits.ttlSeconds * 1000,
          after?.epoch ?? '',
          after?.offset ?? 0,
        ),
      );
      const head = {
        epoch: asString('historySince', reply[0]),
        last: asInt('historySince', reply[1]),
        firstRetained: asInt('historySince', reply[2]),
        nowMs: asInt('historySince', reply[3]),
      };
      const following = asArray('historySince', reply[4]).map(decodeEntry);
      return judgeRead(after, head, following, this.limits.ttlSeconds);
    });
  }
}

/** One XRANGE entry, `[id, [field, value, ...]]`, as a message. */
function decodeEntry(entry: unknown): TimedMessage {
  const [id, fields] = asArray('historySince', entry);
  const offset = Number(asString('historySince', id).split('-')[0]);
  const values = new Map<string, string>();
  const list = asArray('historySince', fields);
  for (let i = 0; i + 1 < list.length; i += 2)
    values.set(asString('historySince', list[i]), asString('historySince', list[i + 1]));
  const event = values.get('e');
  const data = values.get('d');
  const atMs = Number(values.get('t'));
  if (!Number.isSafeInteger(offset) || event === undefined || data === undefined || !Number.isFinite(atMs))
    throw unexpected('historySince', entry);
  return { offset, event, data: data === '' ? undefined : (JSON.parse(data) as unknown), atMs };
}
