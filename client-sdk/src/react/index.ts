/**
 * React bindings (`@stayline/client-sdk/react`): a provider that hands a client down, hooks over its state
 * and session (useSyncExternalStore, so concurrent rendering never tears), app events and rooms
 * (`useAppEvent`, `useRoom`), and a connection banner. Safe to import where there is no `window` (server
 * rendering): nothing runs until a hook does.
 * React is an optional peer dependency; only this entry imports it.
 */
import {
  createContext,
  createElement,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactElement,
  type ReactNode,
} from 'react';
import type { AppEventMap, CallOptions, StaylineClient } from '../client.ts';
import type { ConnectionState, ConnectionStatus as Status } from '../connection-machine.ts';
import type { SdkError } from '../errors.ts';
import type {
  EventId,
  QueueAdmittedPayload,
  RoomName,
  QueueLeaveResult,
  QueuePlace,
  SeatHold,
  SeatId,
  SeatReleaseResult,
  SeatStatus,
} from '../protocol/index.ts';
import { entryOf } from '../id-record.ts';
import { followSeatMap, type FollowedSeatMap, type SeatMapFollower } from '../seat-map-follower.ts';
import { heldSeats, type ClientSession } from '../session.ts';

const ClientContext = createContext<StaylineClient | undefined>(undefined);

/** Props of StaylineProvider. */
export interface StaylineProviderProps<E extends object = AppEventMap> {
  /** The client from `createClient`; the provider neither connects nor closes it. */
  client: StaylineClient<E>;
  children?: ReactNode;
}

/**
 * Makes `client` available to the hooks below it.
 * @example
 * <StaylineProvider client={client}><App /></StaylineProvider>
 */
export function StaylineProvider<E extends object = AppEventMap>({
  client,
  children,
}: StaylineProviderProps<E>): ReactElement {
  // The hooks read app events with their own event map (useAppEvent<E>, useRoom<E>).
  return createElement(ClientContext.Provider, { value: client as unknown as StaylineClient }, children);
}

/**
 * The client of the nearest StaylineProvider (throws outside one).
 * @example
 * const client = useStaylineClient();
 */
export function useStaylineClient(): StaylineClient {
  const client = useContext(ClientContext);
  if (client === undefined) throw new Error('useStaylineClient must be used inside <StaylineProvider>');
  return client;
}

/**
 * The connection state; re-renders on every change.
 * @example
 * const { status, lastError } = useConnectionState();
 */
export function useConnectionState(): ConnectionState {
  const client = useStaylineClient();
  const subscribe = useCallback((onChange: () => void) => client.onStateChange(onChange), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.state,
    () => client.state,
  );
}

/**
 * The session (undefined before the first `session:restored`); re-renders on every change.
 * @example
 * const session = useSession();
 * const rooms = session?.rooms ?? [];
 */
export function useSession(): ClientSession | undefined {
  const client = useStaylineClient();
  const subscribe = useCallback((onChange: () => void) => client.onSessionChange(onChange), [client]);
  return useSyncExternalStore(
    subscribe,
    () => client.session,
    () => client.session,
  );
}

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

/**
 * Calls `handler` for every `event` your backend publishes to this user (service API), while the component
 * is mounted; the latest `handler` is called, so it may close over props without re-subscribing. Type the
 * data with your app's event map: `useAppEvent<AppEvents, 'score'>('score', (s) => ...)`.
 * @example
 * useAppEvent<{ score: Score }, 'score'>('score', (score) => setScore(score));
 */
export function useAppEvent<E extends object = AppEventMap, K extends keyof E & string = keyof E & string>(
  event: K,
  handler: (data: E[K]) => void,
): void {
  const client = useStaylineClient() as StaylineClient<E>;
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => client.onAppEvent(event, (data) => latest.current(data)), [client, event]);
}

/** One app event received while a `useRoom` was mounted. */
export interface RoomMessage<E extends object = AppEventMap, K extends keyof E & string = keyof E & string> {
  event: K;
  data: E[K];
  /** When it arrived (epoch ms, the browser's clock). */
  receivedAt: number;
}

/** Options of useRoom. */
export interface UseRoomOptions<E extends object = AppEventMap> {
  /**
   * The app events your backend publishes to this room, collected in `messages`. The wire does not say
   * which room a message was sent to, so name the room's own events. Default none.
   */
  events?: readonly (keyof E & string)[];
  /** The most recent messages kept. Default 100. */
  maxMessages?: number;
}

/** What useRoom returns. */
export interface RoomView<E extends object = AppEventMap> {
  /** True while the session has the room (joined by this or another tab, restored after a reconnect). */
  joined: boolean;
  /** The last failed join (the hooks never throw): FORBIDDEN (not an allowed room name), ROOM_LIMIT... */
  error: SdkError | undefined;
  /** The room's events (`options.events`) received since mount, oldest first, at most `maxMessages`. */
  messages: RoomMessage<E>[];
  /**
   * How many times the connection dropped while mounted. Stayline does not replay messages: a message
   * published while the connection was down is not in `messages` (read the state again from your backend).
   */
  interruptions: number;
}

/**
 * Joins `room` while the component is mounted and leaves it after (rooms belong to the user: leaving in
 * one tab leaves in all of them); joins again when a restore came back without it (an expired session).
 * Collects the room's app events in `messages`.
 * @example
 * const { joined, messages } = useRoom<ChatEvents>('match:42', { events: ['chat'] });
 */
export function useRoom<E extends object = AppEventMap>(
  room: RoomName,
  options: UseRoomOptions<E> = {},
): RoomView<E> {
  const client = useStaylineClient() as StaylineClient<E>;
  const session = useSession();
  const { status } = useConnectionState();
  const [error, setError] = useState<SdkError | undefined>(undefined);
  const [messages, setMessages] = useState<RoomMessage<E>[]>([]);
  const [interruptions, setInterruptions] = useState(0);
  const maxMessages = options.maxMessages ?? 100;
  const eventsKey = (options.events ?? []).join('\n');
  const joined = session?.rooms.includes(room) ?? false;
  const wasConnected = useRef(false);

  // Join on mount (and on a new room), leave on unmount. A join refused stays refused until the room changes.
  const refused = useRef<RoomName | undefined>(undefined);
  useEffect(() => {
    refused.current = undefined;
    setError(undefined);
    setMessages([]);
    return () => {
      client.leaveRoom(room).catch(() => undefined);
    };
  }, [client, room]);
  useEffect(() => {
    if (status !== 'connected' || joined || refused.current === room) return;
    let current = true;
    client.joinRoom(room).then(
      () => current && setError(undefined),
      (err: unknown) => {
        if (!current) return;
        refused.current = room;
        setError(err as SdkError);
      },
    );
    return () => {
      current = false;
    };
  }, [client, room, status, joined]);

  useEffect(() => {
    if (status === 'connected') wasConnected.current = true;
    else if (wasConnected.current) {
      wasConnected.current = false;
      setInterruptions((n) => n + 1);
    }
  }, [status]);

  useEffect(() => {
    const names = eventsKey === '' ? [] : (eventsKey.split('\n') as (keyof E & string)[]);
    const offs = names.map((event) =>
      client.onAppEvent(event, (data) =>
        setMessages((list) => [...list, { event, data, receivedAt: Date.now() }].slice(-maxMessages)),
      ),
    );
    return () => {
      for (const off of offs) off();
    };
  }, [client, eventsKey, maxMessages]);

  return { joined, error, messages, interruptions };
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
