/**
 * Event names and payload types of the wire contract. Client requests are imperative (`room:join`) and
 * always carry an ack; server events are facts (`session:restored`).
 */
import type { WireError } from './errors.ts';
import type { RestoredHistory, StreamPosition } from './history.ts';

/** The authenticated user's id: the token's `sub`, never a value the client sends. */
export type UserId = string;
/** A room a client may join; validated by the gateway's room policy. */
export type RoomName = string;
/** An event (a show, a match) with a waiting queue and a seat map. */
export type EventId = string;
export type SeatId = string;
/** A seat's state as every client sees it. */
export type SeatStatus = 'free' | 'held' | 'sold';

/**
 * Every request payload may carry a `requestId` (1-64 characters, unique per user): a request retried
 * with the same id (say after a dropped ack) is answered with the first result and never acts twice.
 */
export interface RequestMeta {
  requestId?: string;
}

/** Every acknowledged request is answered with exactly one of these. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };
/** The callback socket.io hands the server for an acknowledged request. */
export type AckCallback<T> = (response: Ack<T>) => void;

/**
 * The session a node restored (or created) for the connecting user. The replay of missed messages (each
 * sent as its own app event) follows it, before any message published after the client is back.
 */
export interface RestoredSession extends RestoredHistory {
  /** True when a session of this user already existed (another tab, or a reconnect within the TTL). */
  recovered: boolean;
  /** The rooms the user is in; the socket has been joined to all of them on this node. */
  rooms: RoomName[];
  /** When the session expires unless the user stays active (epoch milliseconds). */
  expiresAt: number;
  /** The user's places in waiting queues, with positions computed now (not stale copies). */
  queues: QueuePlace[];
  /** The user's live seat holds. */
  holds: SeatHold[];
}

export interface QueuePlace {
  eventId: EventId;
  /**
   * 1-based, gap-free: the first in line is 1. A `queue:join` ack says 0 when the user is already admitted
   * (the `queue:admitted` event is sent again).
   */
  position: number;
  size: number;
}

export interface SeatHold {
  eventId: EventId;
  seatIds: SeatId[];
  /** Epoch ms at which the hold lapses unless the sale is confirmed. */
  expiresAt: number;
  /** Fencing token: the backend confirms a sale with it; a stale fence is refused. */
  fence: number;
}

export interface AuthExpiringPayload {
  /** When the token expires (epoch milliseconds); send `auth:refresh` before then. */
  expiresAt: number;
}

export interface AuthRefreshRequest extends RequestMeta {
  token: string;
}
export interface AuthRefreshResult {
  expiresAt: number;
}

export interface RoomRequest extends RequestMeta {
  room: RoomName;
}
export interface RoomResult {
  room: RoomName;
  rooms: RoomName[];
  /** On `room:join` with history on: the room stream's current position (the client has missed nothing). */
  position?: StreamPosition;
}

export interface ServerDrainingPayload {
  /** Wait this long (already jittered by the server) before reconnecting. */
  reconnectAfterMs: number;
}

export interface QueueRequest extends RequestMeta {
  eventId: EventId;
}
export interface QueueLeaveResult {
  eventId: EventId;
  /** False when the user was not in the queue (leaving is idempotent). */
  left: boolean;
}
export interface QueueAdmittedPayload {
  eventId: EventId;
  /** Signed, short-lived; `seat:hold` for an event that requires admission must carry it. */
  admissionToken: string;
  expiresAt: number;
}

export interface SeatHoldRequest extends RequestMeta {
  eventId: EventId;
  seatIds: SeatId[];
  /** Required when the event admits through its queue. */
  admissionToken?: string;
}
export interface SeatReleaseRequest extends RequestMeta {
  eventId: EventId;
  seatIds: SeatId[];
}
export interface SeatReleaseResult {
  eventId: EventId;
  seatIds: SeatId[];
}
export interface SeatMapRequest extends RequestMeta {
  eventId: EventId;
  /**
   * Only this section's seats: those whose id starts with `<section><sectionSeparator>`, for an event that
   * declares a `sectionSeparator` (`BAD_REQUEST` otherwise). 1-64 of `[A-Za-z0-9_.:/-]`.
   */
  section?: string;
  /** `compact` answers a SeatMapCompactResult; default `full` (a SeatMapResult). */
  format?: 'full' | 'compact';
  /**
   * The version of the map the client has: the answer then holds only the seats that changed after it
   * (a SeatMapResult with `since`), when the server can still list them; otherwise the whole map (or
   * section) in the asked format.
   */
  since?: number;
}
export interface SeatMapResult {
  eventId: EventId;
  /** The event's change version the map was read at: `seat:update`s up to this version are already in it. */
  version: number;
  /** The section asked for, when one was. */
  section?: string;
  /**
   * Present when the answer holds only the changes in the versions `(since, version]` (the request's
   * `since`): apply it like a `seat:update`. Absent: `seats` is every seat (of the section).
   */
  since?: number;
  seats: Record<SeatId, SeatStatus>;
}
/**
 * A seat map (or one section of it) in the compact encoding: the seat ids once, sorted, and one status
 * character per seat in the same order (`f` free, `h` held, `s` sold). A 1,000-seat section is about 15 KB.
 */
export interface SeatMapCompactResult {
  eventId: EventId;
  version: number;
  section?: string;
  format: 'compact';
  seatIds: SeatId[];
  statuses: string;
}
/**
 * The seats of one event that changed in the versions `(since, version]`, each with its status at
 * `version`. Coalesced: a node sends each of its sockets at most one per event per SEAT_UPDATE_INTERVAL_MS,
 * in version order. With a map at version `have`: ignore it when `version <= have`; apply it (and take
 * `version`) when `since <= have`; when `since > have`, changes were missed: read the map again
 * (`seats` may then be empty: the server could not list what changed).
 */
export interface SeatUpdatePayload {
  eventId: EventId;
  since: number;
  version: number;
  seats: Record<SeatId, SeatStatus>;
}
/** Told to the holder when a hold lapsed (expired, or ended with the session). */
export interface SeatExpiredPayload {
  eventId: EventId;
  seatIds: SeatId[];
}

/**
 * Sent to every socket of a user just before the server closes it on the application's request
 * (`POST /v1/users/:userId/disconnect`), with `code` `SESSION_KICKED`, or `AUTH_REVOKED` when the user's
 * tokens were revoked too. The server then disconnects the socket ("io server disconnect"): reconnect only
 * on the user's action, with a token issued after the revocation.
 */
export type SessionEndedPayload = WireError;

/** Pushed when a client sends something that cannot be answered through an ack. */
export interface ProtocolErrorPayload extends WireError {
  event: string;
}

/** Server-to-client events. */
export interface ServerToClientEvents {
  'session:restored': (session: RestoredSession) => void;
  'auth:expiring': (payload: AuthExpiringPayload) => void;
  'auth:expired': (error: WireError) => void;
  'session:ended': (payload: SessionEndedPayload) => void;
  'server:draining': (payload: ServerDrainingPayload) => void;
  'protocol:error': (payload: ProtocolErrorPayload) => void;
  'room:joined': (payload: RoomResult) => void;
  'room:left': (payload: RoomResult) => void;
  'queue:position': (payload: QueuePlace) => void;
  'queue:admitted': (payload: QueueAdmittedPayload) => void;
  'seat:update': (payload: SeatUpdatePayload) => void;
  'seat:expired': (payload: SeatExpiredPayload) => void;
}

/** Client-to-server requests; each carries an ack callback. */
export interface ClientToServerEvents {
  'auth:refresh': (request: AuthRefreshRequest, ack: AckCallback<AuthRefreshResult>) => void;
  'room:join': (request: RoomRequest, ack: AckCallback<RoomResult>) => void;
  'room:leave': (request: RoomRequest, ack: AckCallback<RoomResult>) => void;
  'queue:join': (request: QueueRequest, ack: AckCallback<QueuePlace>) => void;
  'queue:leave': (request: QueueRequest, ack: AckCallback<QueueLeaveResult>) => void;
  'seat:hold': (request: SeatHoldRequest, ack: AckCallback<SeatHold>) => void;
  'seat:release': (request: SeatReleaseRequest, ack: AckCallback<SeatReleaseResult>) => void;
  'seat:map': (request: SeatMapRequest, ack: AckCallback<SeatMapResult | SeatMapCompactResult>) => void;
}

/** The names of client requests, for validation and metrics labels (a bounded set). */
export const CLIENT_EVENTS = [
  'auth:refresh',
  'room:join',
  'room:leave',
  'queue:join',
  'queue:leave',
  'seat:hold',
  'seat:release',
  'seat:map',
] as const satisfies readonly (keyof ClientToServerEvents)[];
export type ClientEventName = (typeof CLIENT_EVENTS)[number];

/** The names of server events. */
export const SERVER_EVENTS = [
  'session:restored',
  'auth:expiring',
  'auth:expired',
  'session:ended',
  'server:draining',
  'protocol:error',
  'room:joined',
  'room:left',
  'queue:position',
  'queue:admitted',
  'seat:update',
  'seat:expired',
] as const satisfies readonly (keyof ServerToClientEvents)[];
