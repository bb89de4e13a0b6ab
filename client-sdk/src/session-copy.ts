/**
 * The client's live copy of its session: holds the current `ClientSession`, applies changes (from server
 * events and call results) with the pure functions of session.ts, and tells the listeners what changed and
 * what was lost. Imports session.ts and the logger type only.
 */
import type { SdkLogger } from './client-options.ts';
import {
  describeChange,
  fromRestored,
  type ClientSession,
  type SessionChange,
  type SessionChangeCause,
} from './session.ts';
import type { RestoredSession } from './protocol/index.ts';

/** One client's session copy (see the file comment). */
export interface SessionCopy {
  /** The session as last restored and updated; undefined until the first `session:restored`. */
  readonly current: ClientSession | undefined;
  /** Replaces the copy with what `session:restored` brought. */
  restored(restored: RestoredSession): void;
  /** Applies `update` to the copy (nothing before the first restore). */
  update(cause: SessionChangeCause, update: (s: ClientSession) => ClientSession): void;
  /** Calls `listener` on every change. Returns the unsubscribe function. */
  onChange(listener: (change: SessionChange) => void): () => void;
}

/** Creates an empty session copy; `log` hears of every loss. */
export function createSessionCopy(log: SdkLogger | undefined): SessionCopy {
  let session: ClientSession | undefined;
  const listeners = new Set<(c: SessionChange) => void>();
  const set = (cause: SessionChangeCause, next: ClientSession, restored?: RestoredSession): void => {
    const previous = session;
    session = next;
    const change = describeChange(cause, previous, next, restored);
    if (change.lostAnything) log?.warn({ lost: change.lost, cause }, 'session lost state');
    for (const listener of [...listeners]) listener(change);
  };
  return {
    get current() {
      return session;
    },
    restored: (restored) => set('session:restored', fromRestored(restored, session), restored),
    update(cause, update) {
      if (session !== undefined) set(cause, update(session));
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
