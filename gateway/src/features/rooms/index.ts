/**
 * features/rooms: `room:join` and `room:leave` (room-handlers.ts) under the room policy (room-policy.ts).
 * Membership lives in the session store for the user's whole session; restore rejoins the socket to the
 * session's rooms (transport does that with the user's own room, before any feature hook). Imports
 * session, errors, infra and the protocol; never transport or another feature.
 */
import { defineRequest, type Delivery, type Feature } from '../feature.ts';
import type { SessionStore } from '../../session/session-store.ts';
import { joinRoom, leaveRoom, roomRequestSchema } from './room-handlers.ts';
import type { RoomPolicy } from './room-policy.ts';

export { createRoomPolicy, type RoomPolicy } from './room-policy.ts';

export interface RoomsFeatureDeps {
  store: SessionStore;
  policy: RoomPolicy;
  /** MAX_ROOMS_PER_USER: per-user state in the store stays bounded. */
  maxRoomsPerUser: number;
  delivery: Delivery;
}

export function createRoomsFeature(deps: RoomsFeatureDeps): Feature {
  return {
    name: 'rooms',
    requests: [
      defineRequest({
        event: 'room:join',
        schema: roomRequestSchema,
        idempotency: 'ledger',
        handle: (ctx, request) => joinRoom(deps, ctx, request),
      }),
      defineRequest({
        event: 'room:leave',
        schema: roomRequestSchema,
        idempotency: 'ledger',
        handle: (ctx, request) => leaveRoom(deps, ctx, request),
      }),
    ],
  };
}
