/**
 * The session scripts' replies, decoded in one place: the status each reply starts with is named here
 * (see each lua/*.lua header), and every field is checked, not cast (a mismatch is a bug: INTERNAL).
 */
import type { AttachResult, NodeId, RoomChange, SessionView, SocketId } from '../session-store.ts';
import { asInt, asStrings, sortedStrings, unexpected } from './replies.ts';

/** attach-socket.lua's first element. */
export const ATTACH_STATUS = { attached: 1, connectionLimit: 0, revoked: -1 } as const;
/** join-room.lua's first element when it refuses (else it is `changed`, 0 or 1). */
export const JOIN_ROOM_LIMIT = -1;

/** attach-socket.lua: `claimsIndexRead` when the store asked it to read the user's queue/hold index. */
export function decodeAttach(reply: unknown, claimsIndexRead: boolean): AttachResult {
  if (!Array.isArray(reply)) throw unexpected('attachSocket', reply);
  switch (reply[0]) {
    case ATTACH_STATUS.revoked:
      return { ok: false, reason: 'REVOKED', revokedAtSeconds: asInt('attachSocket', reply[1]) };
    case ATTACH_STATUS.connectionLimit:
      return { ok: false, reason: 'CONNECTION_LIMIT', liveSockets: asInt('attachSocket', reply[1]) };
    case ATTACH_STATUS.attached:
      return {
        ok: true,
        session: {
          recovered: asInt('attachSocket', reply[1]) === 1,
          expiresAt: asInt('attachSocket', reply[2]),
          rooms: sortedStrings('attachSocket', reply[3]),
          returnedAfterExpiry: asInt('attachSocket', reply[4]) === 1,
          ...(claimsIndexRead ? { claimEvents: asStrings('attachSocket', reply[5]) } : {}),
        },
      };
    default:
      throw unexpected('attachSocket', reply);
  }
}

/** join-room.lua / leave-room.lua; `'limit'` when join-room refused (the caller names the limit). */
export function decodeRoomChange(script: string, reply: unknown): RoomChange | 'limit' {
  if (!Array.isArray(reply)) throw unexpected(script, reply);
  if (reply[0] === JOIN_ROOM_LIMIT) return 'limit';
  return {
    changed: asInt(script, reply[0]) === 1,
    expiresAt: asInt(script, reply[1]),
    rooms: sortedStrings(script, reply[2]),
  };
}

/** get-session.lua: nil when there is no session. */
export function decodeSession(reply: unknown): SessionView | null {
  if (reply === null) return null;
  if (!Array.isArray(reply)) throw unexpected('getSession', reply);
  const flat = asStrings('getSession', reply[1]);
  const pairs: [SocketId, NodeId][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) pairs.push([flat[i] as SocketId, flat[i + 1] as NodeId]);
  // fromEntries defines own properties, so even a socket id like `__proto__` stays plain data.
  return {
    expiresAt: asInt('getSession', reply[0]),
    sockets: Object.fromEntries(pairs),
    rooms: sortedStrings('getSession', reply[2]),
  };
}
