/**
 * @stayline/client-sdk: the web client of Stayline. `createClient` connects, reconnects (full-jitter
 * backoff, server hints, fresh tokens), keeps the restored session, sends typed, idempotent calls, and
 * delivers app events once and in order by their stream positions (gaps reported, never silent).
 * This folder owns the client, its state machine, backoff and errors; it imports socket.io-client and the
 * protocol, and nothing Node-only (the same code runs in browsers). React bindings live in `./react`.
 */
export { createClient } from './client.ts';
export type {
  AppEventHandler,
  AppEventMap,
  AppEventMeta,
  CallOptions,
  ClientOptions,
  RequestPayload,
  SdkLogger,
  SdkTimers,
  ServerEventName,
  StaylineClient,
  StreamGap,
  StreamGapReason,
  TokenReason,
} from './client.ts';
export { StreamPositions, trailingPosition, type MessageVerdict } from './stream-positions.ts';
export { DEFAULT_BACKOFF, reconnectDelayMs, retryDelayMs, type BackoffOptions } from './backoff.ts';
export {
  CONNECTION_STATUSES,
  INITIAL_STATE,
  STOPPED_STATUSES,
  defaultPolicy,
  step,
  type ConnectionEffect,
  type ConnectionEvent,
  type ConnectionPolicy,
  type ConnectionState,
  type ConnectionStatus,
} from './connection-machine.ts';
export {
  CLIENT_ERROR_CATALOGUE,
  SdkError,
  isClientErrorCode,
  type ClientErrorCode,
  type SdkErrorCode,
} from './errors.ts';
export {
  applySeatUpdate,
  toSeatMap,
  type SeatMapOptions,
  type SeatUpdateOutcome,
  type VersionedSeatMap,
} from './seat-map.ts';
export { followSeatMap, type FollowedSeatMap, type SeatMapFollower } from './seat-map-follower.ts';
export {
  heldSeats,
  lossBetween,
  type ClientSession,
  type SessionChange,
  type SessionChangeCause,
  type SessionLoss,
} from './session.ts';
export * from './protocol/index.ts';
