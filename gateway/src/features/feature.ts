/**
 * features/ owns what a client can ask for and what it is told besides the session itself: rooms, waiting
 * queues, seat holds. Each feature lives in `features/<name>/` and is built into the one shape below, which
 * is all transport knows of it: its requests (event, schema, how retries are made safe, handler), an
 * optional part in restore, its background loops (start/stop) and a hook for a socket that left.
 *
 * This file is the contract between transport and the features; it imports only the protocol, session
 * types and zod. A feature imports session, auth types, metrics, infra, errors and the protocol — never
 * transport, socket.io or another feature (lint enforces both). What must reach sockets goes through the
 * `Delivery` transport implements over socket.io.
 */
import type { z } from 'zod';
import type {
  ClientEventName,
  ClientToServerEvents,
  RoomName,
  ServerToClientEvents,
  StreamPosition,
  UserId,
} from '@stayline/client-sdk/protocol';
import type { RestoreHook } from '../session/restore.ts';

/** The server events a feature may send, with their payloads. */
export type ServerEventName = keyof ServerToClientEvents;
export type ServerPayload<E extends ServerEventName> = Parameters<ServerToClientEvents[E]>[0];

/** What a feature may have delivered to sockets; transport implements it over socket.io and its adapter. */
export interface Delivery {
  /** Sends to every socket of the user, on every node. */
  toUser<E extends ServerEventName>(userId: UserId, event: E, payload: ServerPayload<E>): void;
  /** Sends to the user's sockets on this node only (each node sends to its own). */
  toUserHere<E extends ServerEventName>(userId: UserId, event: E, payload: ServerPayload<E>): void;
  /** Sends to this node's sockets in a client room (each node sends to its own). */
  toRoomHere<E extends ServerEventName>(room: RoomName, event: E, payload: ServerPayload<E>): void;
  /** Every socket of the user joins the client room: this node's at once (synchronously), then every node's. */
  joinUser(userId: UserId, room: RoomName): void;
  /** Only the user's sockets on this node join the client room (synchronously). */
  joinUserHere(userId: UserId, room: RoomName): void;
  /** Every socket of the user, on every node, leaves the client room. */
  leaveUser(userId: UserId, room: RoomName): void;
  /**
   * Follows the client rooms that exist on this node (a room exists while a socket here is in it): calls
   * `created` for each one now and for each new one, `deleted` when one empties.
   */
  watchRoomsHere(listener: { created(room: RoomName): void; deleted(room: RoomName): void }): void;
  /**
   * The room stream's position once this node has delivered everything up to it (message history), for a
   * socket here that just joined; undefined when history is off or cannot be read now.
   */
  roomPosition(room: RoomName): Promise<StreamPosition | undefined>;
}

/** Who asks, from the verified token (never from the payload). */
export interface RequestContext {
  userId: UserId;
  /** The token's claims, for policies. */
  claims: Readonly<Record<string, unknown>>;
  /** The request id the client sent, for requests that record their own outcome (`idempotency: 'folded'`). */
  requestId: string | undefined;
  /** A folded request calls this when its outcome was replayed from a record (counted once, in transport). */
  replayed(): void;
}

/**
 * How a retried request (same `requestId`) is kept from acting twice:
 * - `ledger`: transport runs it through the request ledger (a record per user and request id);
 * - `folded`: the handler passes `ctx.requestId` to its own atomic store step, which records and replays
 *   the outcome itself (no extra round trip);
 * - `none`: a read, or an operation that is the same however often it runs; the request id is ignored.
 */
export type Idempotency = 'ledger' | 'folded' | 'none';

/** The data a request's ack carries, from the protocol's event map. */
export type AckData<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[1] extends (
  response: infer A,
) => void
  ? A extends { ok: true; data: infer D }
    ? D
    : never
  : never;

/** One request a feature answers. The payload is validated by `schema` before anything else runs. */
export interface FeatureRequest<E extends ClientEventName = ClientEventName, P = unknown> {
  readonly event: E;
  readonly schema: z.ZodType<P, z.ZodTypeDef, unknown>;
  /**
   * Optional fast check in front of `schema` (fast-check.ts): the parsed payload when it accepts it (only
   * what the schema accepts, parsed the same way), undefined to let the schema decide and refuse.
   */
  readonly check?: (payload: unknown) => P | undefined;
  readonly idempotency: Idempotency;
  handle(ctx: RequestContext, payload: P): Promise<AckData<E>>;
}

/** A request with its payload type erased, for lists of them (`defineRequest` builds one). */
export interface AnyFeatureRequest {
  readonly event: ClientEventName;
  readonly schema: z.ZodType<unknown, z.ZodTypeDef, unknown>;
  readonly check?: (payload: unknown) => unknown;
  readonly idempotency: Idempotency;
  handle(ctx: RequestContext, payload: unknown): Promise<unknown>;
}

/**
 * Erases a request's payload type for a list of them (its schema guarantees the payload at run time; the
 * method's parameter is checked bivariantly, so this needs no cast).
 */
export const defineRequest = <E extends ClientEventName, P>(
  request: FeatureRequest<E, P>,
): AnyFeatureRequest => request;

/** The one shape transport consumes, per feature. */
export interface Feature {
  readonly name: string;
  readonly requests: readonly AnyFeatureRequest[];
  /** Its part in restoring a connecting socket (session/restore.ts runs it before `session:restored`). */
  readonly restore?: RestoreHook;
  /** A socket of the user left this node. */
  socketGone?(userId: UserId): void;
  /** Starts the feature's background loops on this node (every node runs them; the store makes that safe). */
  start?(): void;
  stop?(): void;
}
