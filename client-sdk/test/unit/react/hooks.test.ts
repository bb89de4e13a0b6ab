// @vitest-environment happy-dom
/**
 * The hooks that run effects (useAppEvent, useRoom), rendered for real with react-dom in happy-dom against a
 * fake client whose state, session and app events the test drives.
 */
import { act, createElement, type ReactElement } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEventMeta, StaylineClient, StreamGap } from '../../../src/client.ts';
import type { MessagePosition } from '../../../src/protocol/index.ts';
import type { ConnectionState, ConnectionStatus as Status } from '../../../src/connection-machine.ts';
import { SdkError } from '../../../src/errors.ts';
import { StaylineProvider, useAppEvent, useGap, useRoom, type RoomView } from '../../../src/react/index.ts';
import { fromRestored, withRooms, type ClientSession, type SessionChange } from '../../../src/session.ts';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

interface Events {
  chat: { text: string };
  score: { home: number; away: number };
}

/** A client the test drives: status, rooms, app events; records calls. */
function fakeClient(options: { refuseJoin?: string } = {}) {
  let state: ConnectionState = { status: 'connected', lastError: undefined, attempt: 0, retryAt: undefined };
  let session: ClientSession | undefined = fromRestored(
    {
      recovered: false,
      rooms: [],
      expiresAt: 0,
      queues: [],
      holds: [],
      gaps: [],
      gapReasons: {},
      positions: {},
    },
    undefined,
  );
  const stateListeners = new Set<(s: ConnectionState, p: ConnectionState) => void>();
  const sessionListeners = new Set<(c: SessionChange) => void>();
  const appHandlers = new Map<string, Set<(data: unknown, meta: AppEventMeta) => void>>();
  const gapListeners = new Set<(gap: StreamGap) => void>();
  const calls: string[] = [];
  const setRooms = (rooms: string[]) => {
    const previous = session;
    session = withRooms(session as ClientSession, rooms);
    for (const l of [...sessionListeners]) l({ cause: 'call', session, previous } as SessionChange);
  };
  const client = {
    get state() {
      return state;
    },
    get session() {
      return session;
    },
    onStateChange(l: (s: ConnectionState, p: ConnectionState) => void) {
      stateListeners.add(l);
      return () => stateListeners.delete(l);
    },
    onSessionChange(l: (c: SessionChange) => void) {
      sessionListeners.add(l);
      return () => sessionListeners.delete(l);
    },
    onAppEvent(event: string, handler: (data: unknown, meta: AppEventMeta) => void) {
      const set = appHandlers.get(event) ?? new Set();
      set.add(handler);
      appHandlers.set(event, set);
      return () => set.delete(handler);
    },
    onGap(listener: (gap: StreamGap) => void) {
      gapListeners.add(listener);
      return () => gapListeners.delete(listener);
    },
    joinRoom(room: string) {
      calls.push(`join:${room}`);
      if (options.refuseJoin === room) return Promise.reject(new SdkError('FORBIDDEN'));
      setRooms([...(session?.rooms ?? []), room]);
      return Promise.resolve({ room, rooms: session?.rooms ?? [] });
    },
    leaveRoom(room: string) {
      calls.push(`leave:${room}`);
      setRooms((session?.rooms ?? []).filter((r) => r !== room));
      return Promise.resolve({ room, rooms: session?.rooms ?? [] });
    },
  };
  return {
    client: client as unknown as StaylineClient<Events>,
    calls,
    listeners: () => [...appHandlers.values()].reduce((n, s) => n + s.size, 0),
    setStatus(status: Status) {
      const previous = state;
      state = { ...state, status };
      for (const l of [...stateListeners]) l(state, previous);
    },
    /** A restore that came back without any room (the session had expired). */
    restoreEmpty() {
      setRooms([]);
    },
    /** An app event; with `position`, as a message with history (its stream names its room). */
    publish(event: string, data: unknown, position?: MessagePosition) {
      const meta: AppEventMeta = {
        position,
        room: position?.stream.startsWith('room:') ? position.stream.slice(5) : undefined,
      };
      for (const h of [...(appHandlers.get(event) ?? [])]) h(data, meta);
    },
    gap(gap: StreamGap) {
      for (const l of [...gapListeners]) l(gap);
    },
    gapListeners: () => gapListeners.size,
  };
}

let root: Root | undefined;
afterEach(() => {
  act(() => root?.unmount());
  root = undefined;
});

function mount(client: StaylineClient<Events>, child: ReactElement): void {
  // happy-dom's document (the root tsconfig, which also checks this file, has no DOM types).
  const { document } = globalThis as unknown as { document: { createElement(tag: string): unknown } };
  root = createRoot(document.createElement('div') as Parameters<typeof createRoot>[0]);
  act(() => root?.render(createElement(StaylineProvider, { client }, child)));
}

const flush = () => act(() => Promise.resolve());

describe('useAppEvent', () => {
  it('calls the latest handler with the typed data while mounted, and unsubscribes on unmount', () => {
    const fake = fakeClient();
    const seen: string[] = [];
    function Score({ label }: { label: string }) {
      useAppEvent<Events, 'score'>('score', ({ home, away }) => seen.push(`${label} ${home}-${away}`));
      return null;
    }
    mount(fake.client, createElement(Score, { label: 'first' }));
    act(() => fake.publish('score', { home: 1, away: 0 }));
    act(() =>
      root?.render(
        createElement(StaylineProvider, { client: fake.client }, createElement(Score, { label: 'second' })),
      ),
    );
    act(() => fake.publish('score', { home: 2, away: 0 }));
    act(() => fake.publish('chat', { text: 'not mine' }));
    expect(seen).toEqual(['first 1-0', 'second 2-0']);
    expect(fake.listeners()).toBe(1);
    act(() => root?.unmount());
    root = undefined;
    expect(fake.listeners()).toBe(0);
  });
});

const gapOf = (room: string | undefined, reason: StreamGap['reason']): StreamGap => ({
  stream: room === undefined ? 'user' : `room:${room}`,
  room,
  reason,
  missed: undefined,
  before: undefined,
  after: undefined,
});

describe('useGap', () => {
  it("calls the latest handler for every gap, or one room's only, and unsubscribes on unmount", () => {
    const fake = fakeClient();
    const all: string[] = [];
    const mine: string[] = [];
    function Watch() {
      useGap((g) => all.push(`${g.room ?? 'user'} ${g.reason}`));
      useGap((g) => mine.push(g.reason), { room: 'match:42' });
      return null;
    }
    mount(fake.client, createElement(Watch));
    act(() => {
      fake.gap(gapOf('match:42', 'trimmed'));
      fake.gap(gapOf('other', 'expired'));
      fake.gap(gapOf(undefined, 'epoch-changed'));
    });
    expect(all).toEqual(['match:42 trimmed', 'other expired', 'user epoch-changed']);
    expect(mine).toEqual(['trimmed']);
    act(() => root?.unmount());
    root = undefined;
    expect(fake.gapListeners()).toBe(0);
  });

  it('useAppEvent hands the meta to a handler that asks for it', () => {
    const fake = fakeClient();
    const rooms: (string | undefined)[] = [];
    function Chat() {
      useAppEvent<Events, 'chat'>('chat', (_data, meta) => rooms.push(meta.room));
      return null;
    }
    mount(fake.client, createElement(Chat));
    act(() => fake.publish('chat', { text: 'x' }, { stream: 'room:lobby', epoch: 'e', offset: 1 }));
    act(() => fake.publish('chat', { text: 'y' }));
    expect(rooms).toEqual(['lobby', undefined]);
  });
});

describe('useRoom', () => {
  it('joins while mounted, collects its events, counts interruptions, rejoins a room a restore lost, and leaves on unmount', async () => {
    const fake = fakeClient();
    let view: RoomView<Events> | undefined;
    function Match() {
      view = useRoom<Events>('match:42', { events: ['chat'], maxMessages: 2 });
      return null;
    }
    mount(fake.client, createElement(Match));
    await flush();
    expect(fake.calls).toEqual(['join:match:42']);
    expect(view?.joined).toBe(true);

    act(() => {
      fake.publish('chat', { text: 'a' });
      fake.publish('score', { home: 1, away: 0 }); // not one of the room's events
      fake.publish('chat', { text: 'b' });
      fake.publish('chat', { text: 'c' });
    });
    expect(view?.messages.map((m) => [m.event, (m.data as { text: string }).text])).toEqual([
      ['chat', 'b'],
      ['chat', 'c'],
    ]);

    // The connection drops; the restore comes back without the room (expired session): joined again.
    act(() => fake.setStatus('reconnecting'));
    expect(view?.interruptions).toBe(1);
    act(() => fake.restoreEmpty());
    expect(view?.joined).toBe(false);
    act(() => fake.setStatus('connected'));
    await flush();
    expect(fake.calls).toEqual(['join:match:42', 'join:match:42']);
    expect(view?.joined).toBe(true);

    act(() => root?.unmount());
    root = undefined;
    expect(fake.calls.at(-1)).toBe('leave:match:42');
    expect(fake.listeners()).toBe(0);
  });

  it('reports a refused join as error and does not retry it', async () => {
    const fake = fakeClient({ refuseJoin: 'private:1' });
    let view: RoomView<Events> | undefined;
    function Private() {
      view = useRoom<Events>('private:1');
      return null;
    }
    mount(fake.client, createElement(Private));
    await flush();
    expect(view?.error?.code).toBe('FORBIDDEN');
    expect(view?.joined).toBe(false);
    act(() => fake.setStatus('reconnecting'));
    act(() => fake.setStatus('connected'));
    await flush();
    expect(fake.calls).toEqual(['join:private:1']);
  });

  it("keeps only its own room's messages when they carry a position, and reports the room's gaps", async () => {
    const fake = fakeClient();
    let view: RoomView<Events> | undefined;
    function Match({ room }: { room: string }) {
      view = useRoom<Events>(room, { events: ['chat'] });
      return null;
    }
    mount(fake.client, createElement(Match, { room: 'match:42' }));
    await flush();
    act(() => {
      fake.publish('chat', { text: 'ours' }, { stream: 'room:match:42', epoch: 'e', offset: 1 });
      fake.publish('chat', { text: 'theirs' }, { stream: 'room:match:7', epoch: 'e', offset: 1 });
      fake.publish('chat', { text: 'to the user' }, { stream: 'user', epoch: 'u', offset: 1 });
      fake.publish('chat', { text: 'volatile' });
    });
    expect(view?.messages.map((m) => [(m.data as { text: string }).text, m.position?.offset])).toEqual([
      ['ours', 1],
      ['volatile', undefined],
    ]);
    expect([view?.gap, view?.gaps]).toEqual([undefined, 0]);
    act(() => {
      fake.gap(gapOf('match:7', 'trimmed'));
      fake.gap(gapOf('match:42', 'expired'));
      fake.gap(gapOf('match:42', 'epoch-changed'));
    });
    expect([view?.gap?.reason, view?.gaps]).toEqual(['epoch-changed', 2]);
    // Another room: its own messages and gaps only, from nothing.
    act(() =>
      root?.render(
        createElement(StaylineProvider, { client: fake.client }, createElement(Match, { room: 'match:7' })),
      ),
    );
    await flush();
    expect([view?.messages.length, view?.gap, view?.gaps]).toEqual([0, undefined, 0]);
  });
});
