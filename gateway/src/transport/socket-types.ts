/**
 * The typed socket.io server and socket of the gateway, and the internal room names. Client rooms and user
 * rooms live in separate namespaces of room names (`r:` and `u:`), so no client room can ever coincide
 * with a user's private room or a socket id.
 */
import type { Server, Socket } from 'socket.io';
import type {
  ClientToServerEvents,
  RoomName,
  ServerToClientEvents,
  UserId,
} from '@stayline/client-sdk/protocol';
import type { Principal } from '../auth/index.ts';
import type { UserClaims } from '../session/claim-store.ts';
import type { SessionSnapshot } from '../session/session-store.ts';
import type { ClientPositions } from './handshake/read-positions.ts';
import type { SequencedMessage } from './history/stream-sequencer.ts';
import type { Inflight } from './requests/inflight.ts';

/** What the handshake leaves on `socket.data`; set before the socket connects, never from client input. */
export interface SocketData {
  principal: Principal;
  /**
   * The session the handshake attached, until `session:restored` is sent; then undefined (nothing reads it
   * later, and an idle connection should not keep it).
   */
  session: SessionSnapshot | undefined;
  /** The claims the handshake read for `session:restored`, until it is sent; then undefined. */
  claims: UserClaims | undefined;
  /** The client's `auth.positions` (undefined: it sent none), for the replay of what it missed. */
  positions: ClientPositions | undefined;
  /** performance.now() when the store call of the handshake started, for the restore latency metric. */
  restoreStartedAt: number;
  /** Set once the token has expired; nothing the socket sends afterwards is processed. */
  expired: boolean;
  /** Requests received and not yet acknowledged (a drain waits for them). */
  inflight: Inflight;
}

/** The codes `session:ended` carries: a plain kick, or a kick that revoked the user's tokens too. */
export type SessionEndCode = 'SESSION_KICKED' | 'AUTH_REVOKED';

/** What one node asks the others, through the adapter (`io.serverSideEmit`). */
export interface InterServerEvents {
  /** Ends every socket of `userId` on the receiving node with `session:ended { code }`; acks how many. */
  'user:end': (request: { userId: UserId; code: SessionEndCode }, ack: (closed: number) => void) => void;
  /** A message with history published on the sending node, for the receiving node's sequencer. */
  'history:message': (message: SequencedMessage) => void;
}
export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** The socket.io room that holds every socket of one user, on every node. */
export const userRoom = (userId: UserId): string => `u:${userId}`;
/** The socket.io room behind a client-visible room name. */
export const clientRoom = (room: RoomName): string => `r:${room}`;
