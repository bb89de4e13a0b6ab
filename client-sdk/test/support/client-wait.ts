/**
 * Waiting on an SDK client without sleeping: for a connection status, or for a session change that
 * matches, each with a timeout that says what never happened.
 */
import type { StaylineClient } from '../../src/client.ts';
import type { ConnectionStatus } from '../../src/connection-machine.ts';
import type { SessionChange } from '../../src/session.ts';

/** Resolves when `client` is (or becomes) `status`. */
export function untilStatus(
  client: StaylineClient,
  status: ConnectionStatus,
  timeoutMs = 10_000,
): Promise<void> {
  if (client.state.status === status) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`client not "${status}" within ${timeoutMs} ms (is ${client.state.status})`));
    }, timeoutMs);
    const off = client.onStateChange((s) => {
      if (s.status !== status) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

/** Resolves with the next session change that `match` accepts. */
export function nextSessionChange(
  client: StaylineClient,
  match: (change: SessionChange) => boolean,
  timeoutMs = 10_000,
): Promise<SessionChange> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no matching session change within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = client.onSessionChange((change) => {
      if (!match(change)) return;
      clearTimeout(timer);
      off();
      resolve(change);
    });
  });
}

/** Records every status the client goes through. */
export function recordStatuses(client: StaylineClient): ConnectionStatus[] {
  const seen: ConnectionStatus[] = [client.state.status];
  client.onStateChange((s) => seen.push(s.status));
  return seen;
}
