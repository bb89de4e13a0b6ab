/**
 * The handshake's `auth.positions` (docs/protocol.md "Offsets, epochs and gaps"): where the client was in
 * each stream, so a restore can replay what it missed. Read after the token is verified and bounded before
 * any element is looked at: at most MAX_ROOMS_PER_USER + 1 entries (its rooms and its own stream), each
 * `user` or `room:<valid room name>` → `{ epoch: 1-32 characters, offset: a safe non-negative integer }`.
 * Anything else is refused with BAD_REQUEST (a connect_error: the same handshake cannot succeed), before the
 * session is touched.
 */
import type { StreamName, StreamPosition } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import { ROOM_NAME_PATTERN } from '../../features/rooms/room-policy.ts';

/** A client's positions by stream (a Map: stream names come from outside). */
export type ClientPositions = ReadonlyMap<StreamName, StreamPosition>;

const refuse = (why: string): GatewayError => new GatewayError('BAD_REQUEST', `auth.positions: ${why}`);

function isStreamName(name: string): name is StreamName {
  return name === 'user' || (name.startsWith('room:') && ROOM_NAME_PATTERN.test(name.slice(5)));
}

/**
 * The positions in a handshake's `auth`, or undefined when it has none (a client without the SDK: a
 * restore then replays nothing and says so). Throws GatewayError BAD_REQUEST when they are malformed.
 */
export function readPositions(auth: unknown, maxEntries: number): ClientPositions | undefined {
  if (typeof auth !== 'object' || auth === null) return undefined;
  const raw = (auth as { positions?: unknown }).positions;
  if (raw === undefined) return undefined;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw refuse('expected an object');
  const names = Object.keys(raw);
  if (names.length > maxEntries) throw refuse(`at most ${maxEntries} streams`);
  const positions = new Map<StreamName, StreamPosition>();
  for (const name of names) {
    if (!isStreamName(name)) throw refuse('a stream is `user` or `room:<room name>`');
    const value: unknown = (raw as Record<string, unknown>)[name];
    if (typeof value !== 'object' || value === null) throw refuse('a position is { epoch, offset }');
    const { epoch, offset } = value as { epoch?: unknown; offset?: unknown };
    if (typeof epoch !== 'string' || epoch.length < 1 || epoch.length > 32)
      throw refuse('an epoch is 1-32 characters');
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0)
      throw refuse('an offset is a non-negative integer');
    positions.set(name, { epoch, offset });
  }
  return positions;
}
