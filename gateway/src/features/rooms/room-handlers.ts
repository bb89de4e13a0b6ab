/**
 * features/rooms owns `room:join` and `room:leave`: payload schemas, the room policy, and the handlers.
 * The store records membership for the user's whole session; `membership` makes every live socket of the
 * user (all tabs, all nodes) follow. Imports session, auth types, errors and the protocol; never transport.
 */
import { z } from 'zod';
import type { RoomResult, UserId } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import { requestObject } from '../../infra/bounded-schema.ts';
import type { SessionStore } from '../../session/session-store.ts';
import { ROOM_NAME_PATTERN, type RoomPolicy } from './room-policy.ts';

/**
 * Makes every live socket of a user, on every node, join or leave a room, and tells each of them
 * (`room:joined` / `room:left`), so all tabs share one session.
 */
export interface RoomMembership {
  joined(userId: UserId, result: RoomResult): void;
  left(userId: UserId, result: RoomResult): void;
}

export interface RoomDeps {
  store: SessionStore;
  policy: RoomPolicy;
  /** MAX_ROOMS_PER_USER: per-user state in the store stays bounded. */
  maxRoomsPerUser: number;
  membership: RoomMembership;
}

/** The payload of `room:join` and `room:leave` (type and fields checked before any value). */
export const roomRequestSchema = requestObject({
  room: z.string().regex(ROOM_NAME_PATTERN, 'invalid room name'),
});

export interface RequestContext {
  userId: UserId;
  claims: Readonly<Record<string, unknown>>;
}

/** Joins the user's session to `room` (idempotent) after the policy allows it. */
export async function joinRoom(deps: RoomDeps, ctx: RequestContext, payload: unknown): Promise<RoomResult> {
  const { room } = roomRequestSchema.parse(payload);
  if (!deps.policy.mayJoin(room, ctx.userId, ctx.claims)) {
    throw new GatewayError('FORBIDDEN', `You may not join room "${room}".`);
  }
  const change = await deps.store.joinRoom(ctx.userId, room, deps.maxRoomsPerUser);
  const result = { room, rooms: change.rooms };
  deps.membership.joined(ctx.userId, result);
  return result;
}

/** Leaves `room` for the user's whole session (idempotent). */
export async function leaveRoom(deps: RoomDeps, ctx: RequestContext, payload: unknown): Promise<RoomResult> {
  const { room } = roomRequestSchema.parse(payload);
  const change = await deps.store.leaveRoom(ctx.userId, room);
  const result = { room, rooms: change.rooms };
  deps.membership.left(ctx.userId, result);
  return result;
}
