/**
 * The request ledger contract (placeholder until the store split lands): a record per (user, request id)
 * so a retried request acts once.
 */
import type { UserId } from '@stayline/client-sdk/protocol';

/** What a recorded request looks like to a retry. */
export type LedgerEntry =
  { state: 'new' } | { state: 'pending' } | { state: 'done'; event: string; ack: string };

export interface RequestLedger {
  readonly kind: 'memory' | 'redis';
  /** Starts (userId, requestId): `new` = caller owns it; `pending` = in flight elsewhere; `done` = recorded. */
  begin(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry>;
  complete(userId: UserId, requestId: string, event: string, ack: string, ttlMs: number): Promise<void>;
  /** Best effort: forget an in-flight marker. */
  abandon(userId: UserId, requestId: string): Promise<void>;
}
