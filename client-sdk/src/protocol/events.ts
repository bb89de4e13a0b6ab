/**
 * Event names and payload types of the wire contract. Client requests are imperative (`room:join`) and
 * always carry an ack; server events are facts (`session:restored`).
 */
import type { WireError } from './errors.ts';

/** The authenticated user's id: the token's `sub`, never a value the client sends. */
export type UserId = string;
/** A room a client may join; validated by the gateway's room policy. */
export type RoomName = string;

/** Every acknowledged request is answered with exactly one of these. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
/** The callback socket.io hands the server for an acknowledged request. */
export type AckCallback<T> = (response: Ack<T>) => void;

/** The session a node restored (or created) for the connecting user. */
export interface RestoredSession {
  /** True when a session of this user already existed (another tab, or a reconnect within the TTL). */
  recovered: boolean;
  /** The rooms the user is in; the socket has been joined to all of them on this node. */
  rooms: RoomName[];
  /** When the session expires unless the user stays active (epoch milliseconds). */
  expiresAt: number;
}

export interface AuthExpiringPayload {
  /** When the token expires (epoch milliseconds); send `auth:refresh` before then. */
  expiresAt: number;
}

export interface AuthRefreshRequest {
  token: string;
}
export interface AuthRefreshResult {
  expiresAt: number;
}

export interface RoomRequest {
  room: RoomName;
}
export interface RoomResult {
  room: RoomName;
  rooms: RoomName[];
}

export interface ServerDrainingPayload {
  /** Wait this long (already jittered by the server) before reconnecting. */
  reconnectAfterMs: number;
}

/** Pushed when a client sends something that cannot be answered through an ack. */
export interface ProtocolErrorPayload extends WireError {
  event: string;
}

/** Server-to-client events. */
export interface ServerToClientEvents {
  'session:restored': (session: RestoredSession) => void;
  'auth:expiring': (payload: AuthExpiringPayload) => void;
  'auth:expired': (error: WireError) => void;
  'server:draining': (payload: ServerDrainingPayload) => void;
  'protocol:error': (payload: ProtocolErrorPayload) => void;
  'room:joined': (payload: RoomResult) => void;
  'room:left': (payload: RoomResult) => void;
}

/** Client-to-server requests; each carries an ack callback. */
export interface ClientToServerEvents {
  'auth:refresh': (request: AuthRefreshRequest, ack: AckCallback<AuthRefreshResult>) => void;
  'room:join': (request: RoomRequest, ack: AckCallback<RoomResult>) => void;
  'room:leave': (request: RoomRequest, ack: AckCallback<RoomResult>) => void;
}

/** The names of client requests, for validation and metrics labels (a bounded set). */
export const CLIENT_EVENTS = [
  'auth:refresh',
  'room:join',
  'room:leave',
] as const satisfies readonly (keyof ClientToServerEvents)[];
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** The names of server events. */
export const SERVER_EVENTS = [
  'session:restored',
  'auth:expiring',
  'auth:expired',
  'server:draining',
  'protocol:error',
  'room:joined',
  'room:left',
] as const satisfies readonly (keyof ServerToClientEvents)[];
