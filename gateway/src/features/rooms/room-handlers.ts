/**
 * The handlers of `room:join` and `room:leave`. The store records membership for the user's whole session;
 * the delivery makes every live socket of the user (all tabs, all nodes) follow and tells each of them.
 */
import { z } from 'zod';
import type { RoomResult } from '@stayline/client-sdk/protocol';
import { GatewayError } from '../../errors/gateway-error.ts';
import { requestObject } from '../../infra/bounded-schema.ts';
import type { SessionStore } from '../../session/session-store.ts';
import type { Delivery, RequestContext } from '../feature.ts';
import { ROOM_NAME_PATTERN, type RoomPolicy } from './room-policy.ts';

export interface RoomDeps {
  store: SessionStore;
  policy: RoomPolicy;
  /** MAX_ROOMS_PER_USER: per-user state in the store stays bounded. */
  maxRoomsPerUser: number;
  delivery: Pick<Delivery, 'joinUser' | 'leaveUser' | 'toUser' | 'roomPosition'>;
}

/** The payload of `room:join` and `room:leave` (type and fields checked before any value). */
export const roomRequestSchema = requestObject({
  room: z.string().regex(ROOM_NAME_PATTERN, 'invalid room name'),
});

export type RoomRequest = z.infer<typeof roomRequestSchema>;

/**
 * Joins the user's session to `room` (idempotent) after the policy allows it. With history on, the ack
 * carries the room stream's position read after this node's sockets joined: every message after it reaches
 * the socket (one at or before it may too; the client's position is the judge).
 */
export async function joinRoom(
  deps: RoomDeps,
  ctx: Pick<RequestContext, 'userId' | 'claims'>,
  { room }: RoomRequest,
): Promise<RoomResult> {
  if (!deps.policy.mayJoin(room, ctx.userId, ctx.claims)) {
    throw new GatewayError('FORBIDDEN', `You may not join room "${room}".`);
  }
  const change = await deps.store.joinRoom(ctx.userId, room, deps.maxRoomsPerUser);
  const result = { room, rooms: change.rooms };
  deps.delivery.joinUser(ctx.userId, room);
  deps.delivery.toUser(ctx.userId, 'room:joined', result);
  const position = await deps.delivery.roomPosition(room);
  return position === undefined ? result : { ...result, position };
}

/** Leaves `room` for the user's whole session (idempotent). */
export async function leaveRoom(
  deps: RoomDeps,
  ctx: Pick<RequestContext, 'userId'>,
  { room }: RoomRequest,
): Promise<RoomResult> {
  const change = await deps.store.leaveRoom(ctx.userId, room);
  const result = { room, rooms: change.rooms };
  deps.delivery.leaveUser(ctx.userId, room);
  deps.delivery.toUser(ctx.userId, 'room:left', result);
  return result;
}
