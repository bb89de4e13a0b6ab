/**
 * The Redis request ledger, in the user's slot: one string per user, `<prefix>{u:<id>}:q`, the list of the
 * user's recent entries, each with its own expiry (lua/request-begin.lua has the layout); an entry that does
 * not fit the list (full, or a long answer) takes a key of its own, `<prefix>{u:<id>}:q:<requestId>`, as
 * every entry did before (still read). An entry is `pending` (in flight, for the pending TTL) or
 * `<event>\n<ack>` (done, for the result TTL; JSON `{event, ack}` when the event name does not fit that form,
 * and as entries were written before issue 15, which the reader still accepts). Each call is one script, so
 * its check and write are one step. See request-ledger.ts for the contract.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import { RedisStore, type RedisStoreClient } from './redis/redis-store.ts';
import { asArray, asString, unexpected } from './redis/replies.ts';
import { defineScripts, type Scripts } from './redis/scripts.ts';
import { createUserKeys, type UserKeys } from './redis/user-keys.ts';
import type { ClosableRequestLedger, LedgerEntry } from './request-ledger.ts';

/** The in-flight marker's value. */
const PENDING = 'pending';
/** request-begin.lua's first element when it set the marker. */
const BEGIN_NEW = 1;

export interface RedisRequestLedgerOptions extends RedisStoreClient {
  keyPrefix: string;
}

export class RedisRequestLedger extends RedisStore implements ClosableRequestLedger {
  readonly kind = 'redis';
  private readonly scripts: Scripts;
  private readonly userKeys: (userId: UserId) => UserKeys;

  constructor(options: RedisRequestLedgerOptions) {
    super(options, 'Request ledger');
    this.scripts = defineScripts(options.redis);
    this.userKeys = createUserKeys(options.keyPrefix);
  }

  begin(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry> {
    return this.run('beginRequest', async () => {
      const reply = asArray(
        'requestBegin',
        await this.scripts.requestBegin(
          this.keys(userId, requestId),
          requestId,
          Math.max(1, Math.round(pendingMs)),
        ),
      );
      if (reply[0] === BEGIN_NEW) return { state: 'new' };
      return parseEntry(asString('requestBegin', reply[1]));
    });
  }

  complete(userId: UserId, requestId: string, event: string, ack: string, ttlMs: number): Promise<void> {
    return this.run('completeRequest', async () => {
      await this.scripts.requestComplete(
        this.keys(userId, requestId),
        requestId,
        encodeEntry(event, ack),
        Math.max(1, Math.round(ttlMs)),
      );
    });
  }

  abandon(userId: UserId, requestId: string): Promise<void> {
    return this.run('abandonRequest', async () => {
      await this.scripts.requestAbandon(this.keys(userId, requestId), requestId);
    });
  }

  private keys(userId: UserId, requestId: string): { requests: string; request: string } {
    const keys = this.userKeys(userId);
    return { requests: keys.requests, request: keys.request(requestId) };
  }
}

/** What every successful ack starts with (transport/requests/idempotency.ts: `JSON.stringify({ ok: true, data })`). */
const OK_ACK_HEAD = '{"ok":true,"data":';

/**
 * A done entry: `<event>\n<ack>`, a third smaller than the JSON it replaced (no field names, no escaped
 * ack), which counts at several records per active user (issue 15); a successful ack is kept as its data
 * alone, `<event>\r<data>` (the ack is `{"ok":true,"data":<data>}`, 19 bytes fewer per entry). An event
 * name that could be misread (a newline or carriage return in it, or `{` first) falls back to the JSON form.
 */
export function encodeEntry(event: string, ack: string): string {
  if (event === '' || /[\n\r]/.test(event) || event.startsWith('{')) return JSON.stringify({ event, ack });
  if (ack.startsWith(OK_ACK_HEAD) && ack.endsWith('}')) {
    return `${event}\r${ack.slice(OK_ACK_HEAD.length, -1)}`;
  }
  return `${event}\n${ack}`;
}

/** Parses an entry of any form (see encodeEntry), or `pending`. */
export function parseEntry(value: string): LedgerEntry {
  if (value === PENDING) return { state: 'pending' };
  const end = value.search(/[\n\r]/);
  if (!value.startsWith('{') && end > 0) {
    const event = value.slice(0, end);
    const rest = value.slice(end + 1);
    return { state: 'done', event, ack: value[end] === '\r' ? `${OK_ACK_HEAD}${rest}}` : rest };
  }
  let parsed: { event?: unknown; ack?: unknown };
  try {
    parsed = JSON.parse(value) as { event?: unknown; ack?: unknown };
  } catch {
    throw unexpected('requestBegin', value);
  }
  if (typeof parsed.event !== 'string' || typeof parsed.ack !== 'string')
    throw unexpected('requestBegin', value);
  return { state: 'done', event: parsed.event, ack: parsed.ack };
}
