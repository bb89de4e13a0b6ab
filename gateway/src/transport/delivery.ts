/**
 * The features' Delivery over socket.io: user rooms (`u:<userId>`) reach every socket of a user, client
 * rooms (`r:<room>`) the sockets in a room; through the cluster adapter, `io.to(...)` and `socketsJoin`
 * reach every node, `io.local` only this one.
 */
import type { RoomName } from '@stayline/client-sdk/protocol';
import type { Delivery } from '../features/feature.ts';
import type { HistoryTransport } from './history/history-transport.ts';
import { clientRoom, userRoom, type GatewayServer } from './socket-types.ts';

const CLIENT_ROOM_PREFIX = clientRoom('');

/** A Delivery built before the socket.io server it delivers through (features are built first). */
export interface BindableDelivery extends Delivery {
  /** Binds the server (and its message history, when on); called once by createSocketServer. */
  bind(server: GatewayServer, history?: HistoryTransport): void;
}

/**
 * The composition root builds the features with this delivery, then the socket server binds it: nothing is
 * delivered before the server exists (features only deliver from requests, hooks and loops it runs).
 */
export function createDelivery(): BindableDelivery {
  let bound: GatewayServer | undefined;
  let history: HistoryTransport | undefined;
  const server = (): GatewayServer => {
    if (bound === undefined) throw new Error('delivery used before the socket server was bound');
    return bound;
  };
  return {
    bind(s, h) {
      bound = s;
      history = h;
    },
    ...overSocketIo(server),
    async roomPosition(room) {
      if (history === undefined) return undefined;
      try {
        return await history.head(clientRoom(room));
      } catch {
        // Counted by the sequencer (stayline_history_catchup_failures_total); the join stands without a
        // position, and the client takes its position from the room's next message.
        return undefined;
      }
    },
  };
}

function overSocketIo(server: () => GatewayServer): Omit<Delivery, 'roomPosition'> {
  return {
    toUser: (userId, event, payload) => {
      // The typed emit cannot relate a generic event to its payload; the Delivery signature does.
      (server().to(userRoom(userId)).emit as (e: string, p: unknown) => boolean)(event, payload);
    },
    toUserHere: (userId, event, payload) => {
      (server().local.to(userRoom(userId)).emit as (e: string, p: unknown) => boolean)(event, payload);
    },
    toRoomHere: (room, event, payload) => {
      (server().local.to(clientRoom(room)).emit as (e: string, p: unknown) => boolean)(event, payload);
    },
    joinUser: (userId, room) => {
      server().local.in(userRoom(userId)).socketsJoin(clientRoom(room));
      server().in(userRoom(userId)).socketsJoin(clientRoom(room));
    },
    joinUserHere: (userId, room) => {
      // Every `seat:hold` and `seat:map` asks this, and the user's sockets are nearly always in the room
      // already: a look at the adapter's two sets then replaces socket.io's broadcast machinery (4 % of the
      // node's CPU in the queue-seats bench), which would change nothing (a join of a member is a no-op).
      const rooms = server().of('/').adapter.rooms;
      const members = rooms.get(clientRoom(room));
      const sockets = rooms.get(userRoom(userId));
      if (members !== undefined && sockets !== undefined && isSubset(sockets, members)) return;
      server().local.in(userRoom(userId)).socketsJoin(clientRoom(room));
    },
    leaveUser: (userId, room) => server().in(userRoom(userId)).socketsLeave(clientRoom(room)),
    watchRoomsHere(listener) {
      const adapter = server().of('/').adapter;
      const asClientRoom = (room: unknown): RoomName | undefined =>
        typeof room === 'string' && room.startsWith(CLIENT_ROOM_PREFIX)
          ? room.slice(CLIENT_ROOM_PREFIX.length)
          : undefined;
      const on = (notify: (room: RoomName) => void) => (room: unknown) => {
        const name = asClientRoom(room);
        if (name !== undefined) notify(name);
      };
      for (const room of adapter.rooms.keys()) on((r) => listener.created(r))(room);
      adapter.on(
        'create-room',
        on((r) => listener.created(r)),
      );
      adapter.on(
        'delete-room',
        on((r) => listener.deleted(r)),
      );
    },
  };
}

/** True when every element of `a` is in `b`. */
function isSubset<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size > b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
