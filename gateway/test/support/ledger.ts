import { MemoryClaimStore } from '../../src/session/memory-claim-store.ts';
import type { RequestLedger } from '../../src/session/request-ledger.ts';

/** A memory request ledger for unit tests. */
export function memoryLedger(): RequestLedger {
  const store = new MemoryClaimStore({
    limits: { holdSeconds: 300, admissionTtlSeconds: 60, sessionCheckSeconds: 30 },
    sessionAlive: () => Promise.resolve(true),
  });
  return {
    kind: 'memory',
    begin: (u, r, p) => store.beginRequest(u, r, p),
    complete: (u, r, e, a, t) => store.completeRequest(u, r, e, a, t),
    abandon: (u, r) => store.abandonRequest(u, r),
  };
}
