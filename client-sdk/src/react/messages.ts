/**
 * React bindings for messages: app events (`useAppEvent`), gaps in their streams (`useGap`), and rooms
 * with their messages and gaps (`useRoom`). Built on the core hooks (core.ts); imports React and the
 * SDK's types only.
 */
import { useEffect, useRef, useState } from 'react';
import type { AppEventMap, AppEventMeta, StaylineClient, StreamGap } from '../client.ts';
import type { SdkError } from '../errors.ts';
import type { RoomName } from '../protocol/index.ts';
import { useConnectionState, useSession, useStaylineClient } from './core.ts';

/**
 * Calls `handler` for every `event` your backend publishes to this user (service API), while the component
 * is mounted: each message once, in its stream's order (see `onAppEvent`), with `meta` (its `position` and
 * `room`) as the optional second argument. The latest `handler` is called, so it may close over props
 * without re-subscribing. Type the data with your app's event map: `useAppEvent<AppEvents, 'score'>(...)`.
 * @example
 * useAppEvent<{ score: Score }, 'score'>('score', (score) => setScore(score));
 */
export function useAppEvent<E extends object = AppEventMap, K extends keyof E & string = keyof E & string>(
  event: K,
  handler: (data: E[K], meta: AppEventMeta) => void,
): void {
  const client = useStaylineClient() as StaylineClient<E>;
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => client.onAppEvent(event, (data, meta) => latest.current(data, meta)), [client, event]);
}

/** Options of useGap. */
export interface UseGapOptions {
  /** Only gaps of this room. Default: every gap (rooms and the user's own stream). */
  room?: RoomName;
}

/**
 * Calls the latest `handler` for every gap while mounted: messages the server could not replay, or that
 * the SDK saw skipped (see `onGap`). Re-read what the room shows from your backend when it is called.
 * @example
 * useGap(() => void refetchScores(), { room: 'match:42' });
 */
export function useGap(handler: (gap: StreamGap) => void, options: UseGapOptions = {}): void {
  const client = useStaylineClient();
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  const { room } = options;
  useEffect(
    () =>
      client.onGap((gap) => {
        if (room === undefined || gap.room === room) latest.current(gap);
      }),
    [client, room],
  );
}

/** One app event received while a `useRoom` was mounted. */
export interface RoomMessage<E extends object = AppEventMap, K extends keyof E & string = keyof E & string> {
  event: K;
  data: E[K];
  /** When it arrived (epoch ms, the browser's clock). */
  receivedAt: number;
  /** Its place in the room's stream; undefined for a volatile message. */
  position: AppEventMeta['position'];
}

/** Options of useRoom. */
export interface UseRoomOptions<E extends object = AppEventMap> {
  /**
   * The app events your backend publishes to this room, collected in `messages`. A message that carries
   * its position is kept only when it belongs to this room; a volatile one (no position) does not say its
   * room, so it is kept whatever room it went to. Default none.
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
   * How many times the connection dropped while mounted. What was published meanwhile is replayed into
   * `messages` after the reconnect; what could not be is a `gap`.
   */
  interruptions: number;
  /**
   * The room's last gap since mount (undefined when none): messages that will never be in `messages`
   * (history trimmed or expired, Redis lost it, history off...). Read the room's state from your backend.
   */
  gap: StreamGap | undefined;
  /** How many gaps the room had since mount. */
  gaps: number;
}

/**
 * Joins `room` while the component is mounted and leaves it after (rooms belong to the user: leaving in
 * one tab leaves in all of them); joins again when a restore came back without it (an expired session).
 * Collects the room's app events in `messages`, each once and in order across reconnects, and reports
 * the room's gaps.
 * @example
 * const { joined, messages, gap } = useRoom<ChatEvents>('match:42', { events: ['chat'] });
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
  const [gapState, setGapState] = useState<{ room: RoomName; last: StreamGap | undefined; count: number }>({
    room,
    last: undefined,
    count: 0,
  });
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

  useEffect(
    () =>
      client.onGap((gap) => {
        if (gap.room !== room) return;
        setGapState((g) =>
          g.room === room ? { room, last: gap, count: g.count + 1 } : { room, last: gap, count: 1 },
        );
      }),
    [client, room],
  );

  useEffect(() => {
    const names = eventsKey === '' ? [] : (eventsKey.split('\n') as (keyof E & string)[]);
    const offs = names.map((event) =>
      client.onAppEvent(event, (data, { position, room: to }) => {
        // The position names the message's room: another room's message with the same event is not ours.
        if (to !== undefined && to !== room) return;
        if (position !== undefined && to === undefined) return; // the user's own stream, not a room's
        setMessages((list) =>
          [...list, { event, data, receivedAt: Date.now(), position }].slice(-maxMessages),
        );
      }),
    );
    return () => {
      for (const off of offs) off();
    };
  }, [client, room, eventsKey, maxMessages]);

  // Tagged with its room, so a new room shows no gap until its own.
  const mine = gapState.room === room ? gapState : { last: undefined, count: 0 };
  return { joined, error, messages, interruptions, gap: mine.last, gaps: mine.count };
}
