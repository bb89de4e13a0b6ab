/**
 * Waiting without sleeping: for an event, or for a condition, each with a timeout that fails the test
 * with a message saying what never happened.
 */
import type { Socket } from 'socket.io-client';

/** Resolves with the first argument of the next `event` on `socket`, or rejects after `timeoutMs`. */
export function nextEvent<T = unknown>(socket: Socket, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const onEvent = (value: T): void => {
      clearTimeout(timer);
      resolve(value);
    };
    socket.once(event, onEvent);
  });
}

/** Polls `check` until it returns a truthy value (which is returned), or rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`${what} not met within ${timeoutMs} ms${cause}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Sends a request and resolves with its ack, or rejects when none comes within `timeoutMs`. */
export function request<T = unknown>(
  socket: Socket,
  event: string,
  payload: unknown,
  timeoutMs = 5_000,
): Promise<T> {
  return socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
}
