/**
 * The embedded request ledger (single node): entries in an expiring map on an injected clock; each call is
 * synchronous, so of two racing begins exactly one finds nothing. See request-ledger.ts for the contract.
 */
import type { UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../errors/gateway-error.ts';
import { ExpiringRecords } from './expiring-records.ts';
import type { ClosableRequestLedger, LedgerEntry } from './request-ledger.ts';

export class MemoryRequestLedger implements ClosableRequestLedger {
  readonly kind = 'memory';
  private readonly entries = new ExpiringRecords<LedgerEntry>();
  private readonly now: () => number;
  private closed = false;

  /** `now`: the clock, epoch ms. Default Date.now. */
  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  begin(userId: UserId, requestId: string, pendingMs: number): Promise<LedgerEntry> {
    return this.run((now) => {
      const key = JSON.stringify([userId, requestId]);
      const entry = this.entries.get(key, now);
      if (entry !== undefined) return entry;
      this.entries.set(key, { state: 'pending' }, pendingMs, now);
      return { state: 'new' };
    });
  }

  complete(userId: UserId, requestId: string, event: string, ack: string, ttlMs: number): Promise<void> {
    return this.run((now) => {
      this.entries.set(JSON.stringify([userId, requestId]), { state: 'done', event, ack }, ttlMs, now);
    });
  }

  abandon(userId: UserId, requestId: string): Promise<void> {
    return this.run((now) => {
      const key = JSON.stringify([userId, requestId]);
      if (this.entries.get(key, now)?.state === 'pending') this.entries.delete(key);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private run<T>(fn: (now: number) => T): Promise<T> {
    if (this.closed) return Promise.reject(new GatewayError('STORE_UNAVAILABLE', 'Request ledger is closed'));
    return Promise.resolve(fn(this.now()));
  }
}
