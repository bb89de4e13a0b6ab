/**
 * Which rooms a user may join. A room name is validated first (BAD_REQUEST), then allowed when it matches
 * one of the configured patterns (ROOM_PATTERNS) or one of the token's own `rooms` claim patterns
 * (FORBIDDEN otherwise). Patterns are globs where `*` matches any run of characters and `{sub}` stands for
 * the user's own id, so `dm:{sub}:*` lets each user into their own direct-message rooms only.
 */
import type { RoomName, UserId } from '@stayline/client-sdk/protocol';

/** Room names: 1-128 characters of letters, digits and `_ - . : /`. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9_.:/-]{1,128}$/;

export interface RoomPolicy {
  /** True when `userId` (with these token claims) may join `room`; the name must already be valid. */
  mayJoin(room: RoomName, userId: UserId, claims: Readonly<Record<string, unknown>>): boolean;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function compile(pattern: string, userId: UserId): RegExp {
  // A replacer function, not a string: `$&`, `$\`` and `$'` in a user id must stay literal text.
  const parts = pattern
    .split('*')
    .map((part) => escapeRegExp(part).replaceAll('\\{sub\\}', () => escapeRegExp(userId)));
  return new RegExp(`^${parts.join('.*')}$`);
}

function claimPatterns(claims: Readonly<Record<string, unknown>>): string[] {
  const rooms = claims['rooms'];
  return Array.isArray(rooms) ? rooms.filter((r): r is string => typeof r === 'string') : [];
}

/** Builds the policy from ROOM_PATTERNS (default `*`: any valid room). */
export function createRoomPolicy(patterns: readonly string[]): RoomPolicy {
  const userIndependent = patterns.filter((p) => !p.includes('{sub}')).map((p) => compile(p, ''));
  const perUser = patterns.filter((p) => p.includes('{sub}'));
  return {
    mayJoin(room, userId, claims) {
      if (userIndependent.some((re) => re.test(room))) return true;
      return [...perUser, ...claimPatterns(claims)].some((p) => compile(p, userId).test(room));
    },
  };
}
