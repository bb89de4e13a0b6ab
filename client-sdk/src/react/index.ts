/**
 * React bindings (`@stayline/client-sdk/react`): a provider that hands a client down, hooks over its state
 * and session (core.ts; useSyncExternalStore, so concurrent rendering never tears), app events, gaps and
 * rooms (messages.ts: `useAppEvent`, `useGap`, `useRoom`), queue and seats (here), and a connection
 * banner. Safe to import where there is no `window` (server rendering): nothing runs until a hook does.
 * React is an optional peer dependency; only this folder imports it, and it imports the SDK's sources.
 */
import { createElement, useCallback, useEffect, useRef, useState, type ReactElement } from 'react';
import type { CallOptions } from '../client.ts';
import type { ConnectionStatus as Status } from '../connection-machine.ts';
import type { SdkError } from '../errors.ts';
import type {
  EventId,
  QueueAdmittedPayload,
  QueueLeaveResult,
  QueuePlace,
  SeatHold,
  SeatId,
  SeatReleaseResult,
  SeatStatus,
} from '../protocol/index.ts';
import { entryOf } from '../id-record.ts';
import { followSeatMap, type FollowedSeatMap, type SeatMapFollower } from '../seat-map-follower.ts';
import { heldSeats } from '../session.ts';
import { useConnectionState, useSession, useStaylineClient } from './core.ts';

export {
  StaylineProvider,
  useConnectionState,
  useSession,
  useStaylineClient,
  type StaylineProviderProps,
} from './core.ts';
export {
  useAppEvent,
  useGap,
  useRoom,
  type RoomMessage,
  type RoomView,
  type UseGapOptions,
  type UseRoomOptions,
} from './messages.ts';
/** What useQueue returns. */
export interface QueueView {
  /** The user's place, kept current by `queue:position`; undefined when not queued. */
  place: QueuePlace | undefined;
  /** Set once `queue:admitted` arrived for this event. */
  admission: QueueAdmittedPayload | undefined;
  join: (options?: CallOptions) => Promise<QueuePlace>;
  leave: (options?: CallOptions) => Promise<QueueLeaveResult>;
}

/**
 * The user's place in `eventId`'s queue, and calls to join and leave it.
 * @example
 * const { place, join } = useQueue('ev1');
 * return place ? <p>#{place.position} of {place.size}</p> : <button onClick={() => void join()}>Queue</button>;
 */
export function useQueue(eventId: EventId): QueueView {
  const client = useStaylineClient();
  const session = useSession();
  const join = useCallback((o?: CallOptions) => client.joinQueue(eventId, o), [client, eventId]);
  const leave = useCallback((o?: CallOptions) => client.leaveQueue(eventId, o), [client, eventId]);
  // entryOf: an event named `toString` must not find Object.prototype's function.
  return {
    place: entryOf(session?.queues, eventId),
    admission: entryOf(session?.admissions, eventId),
    join,
    leave,
  };
}

/** What useSeats returns. */
export interface SeatsView {
  /** Every seat's status, read with `seatMap` and kept current by `seat:update`; undefined until read. */
  seats: Readonly<Record<SeatId, SeatStatus>> | undefined;
  /** The event's change version `seats` is at; undefined until read. */
  version: number | undefined;
  /** The seats this user holds for the event. */
  held: SeatId[];
  /** The last failure of reading the map (the hooks never throw). */
  error: SdkError | undefined;
  hold: (seatIds: SeatId[], options?: CallOptions & { admissionToken?: string }) => Promise<SeatHold>;
  release: (seatIds: SeatId[], options?: CallOptions) => Promise<SeatReleaseResult>;
}

/**
 * `eventId`'s seat map, live: read on mount and after every reconnect, then kept current by `seat:update`
 * (applied by version; read again when changes were missed, see `followSeatMap`). After the user's own
 * hold or release the seats are marked at once, without waiting for the update.
 * @example
 * const { seats, held, hold } = useSeats('ev1');
 */
export function useSeats(eventId: EventId): SeatsView {
  const client = useStaylineClient();
  const session = useSession();
  const { status } = useConnectionState();
  // Tagged with its event, so a new eventId shows no map until its own is read.
  const [followed, setFollowed] = useState<FollowedSeatMap & { eventId: EventId }>({
    eventId,
    map: undefined,
    error: undefined,
  });
  const follower = useRef<SeatMapFollower | undefined>(undefined);

  useEffect(() => {
    const current = followSeatMap(client, eventId, (f) => setFollowed({ ...f, eventId }));
    follower.current = current;
    return () => {
      current.stop();
      if (follower.current === current) follower.current = undefined;
    };
  }, [client, eventId]);

  // Re-read after every (re)connect: updates sent while the connection was down were missed. Declared
  // after the effect above, so on a new client or event it reads with the new follower.
  useEffect(() => {
    if (status === 'connected') follower.current?.read();
  }, [client, eventId, status]);

  const hold = useCallback(
    async (ids: SeatId[], o?: CallOptions & { admissionToken?: string }) => {
      const following = follower.current; // this event's, even if eventId changes meanwhile
      const result = await client.holdSeats(eventId, ids, o);
      following?.mark(result.seatIds, 'held');
      return result;
    },
    [client, eventId],
  );
  const release = useCallback(
    async (ids: SeatId[], o?: CallOptions) => {
      const following = follower.current; // this event's, even if eventId changes meanwhile
      const result = await client.releaseSeats(eventId, ids, o);
      following?.mark(result.seatIds, 'free');
      return result;
    },
    [client, eventId],
  );
  const mine = followed.eventId === eventId ? followed : undefined;
  return {
    seats: mine?.map?.seats,
    version: mine?.map?.version,
    held: heldSeats(session, eventId),
    error: mine?.error,
    hold,
    release,
  };
}

/** The banner's text per status; `null` shows nothing. */
export const DEFAULT_STATUS_LABELS: Readonly<Record<Status, string | null>> = Object.freeze({
  idle: 'not connected',
  connected: null,
  connecting: 'connecting…',
  reconnecting: 'reconnecting…',
  disconnected: 'offline',
  unauthorized: 'signed out',
  forbidden: 'this page may not connect (CORS_ORIGINS)',
});

/** Props of ConnectionStatus. */
export interface ConnectionStatusProps {
  /** Replaces some of the texts (DEFAULT_STATUS_LABELS); `null` hides the banner for that status. */
  labels?: Partial<Record<Status, string | null>>;
  className?: string;
}

/**
 * A small banner: nothing while connected, "reconnecting…" while retrying, "offline" when down, and a line
 * naming CORS_ORIGINS when the gateway refuses the page's origin (`forbidden`).
 * Renders `<div role="status" data-status="…">`.
 * @example
 * <ConnectionStatus labels={{ disconnected: 'Connection lost' }} />
 */
export function ConnectionStatus({ labels, className }: ConnectionStatusProps): ReactElement | null {
  const { status, lastError } = useConnectionState();
  const text = labels?.[status] !== undefined ? labels[status] : DEFAULT_STATUS_LABELS[status];
  if (text === null) return null;
  return createElement(
    'div',
    {
      role: 'status',
      'data-status': status,
      ...(lastError === undefined ? {} : { 'data-error': lastError }),
      ...(className === undefined ? {} : { className }),
    },
    text,
  );
}
