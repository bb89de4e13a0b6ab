import { createElement, type ReactElement } from 'react';
import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { StaylineClient } from '../../../src/client.ts';
import type { ConnectionState, ConnectionStatus as Status } from '../../../src/connection-machine.ts';
import type { SeatMapResult } from '../../../src/protocol/index.ts';
import {
  ConnectionStatus,
  StaylineProvider,
  useConnectionState,
  useQueue,
  useSeats,
  useSession,
} from '../../../src/react/index.ts';
import { fromRestored, withHold, type ClientSession } from '../../../src/session.ts';

/** Just enough of a client for rendering: a fixed state and session. */
function fakeClient(status: Status, session?: ClientSession, lastError?: ConnectionState['lastError']) {
  const state: ConnectionState = { status, lastError, attempt: 0, retryAt: undefined };
  const calls: string[] = [];
  const client = {
    state,
    session,
    onStateChange: () => () => undefined,
    onSessionChange: () => () => undefined,
    on: () => () => undefined,
    seatMap: (eventId: string): Promise<SeatMapResult> => {
      calls.push(`seatMap:${eventId}`);
      return Promise.resolve({ eventId, version: 1, seats: { A1: 'free' } });
    },
  } as unknown as StaylineClient;
  return { client, calls };
}

const render = (client: StaylineClient, child: ReactElement): string =>
  renderToString(createElement(StaylineProvider, { client }, child));

describe('React bindings', () => {
  it('ConnectionStatus shows nothing when connected, "reconnecting…" while retrying, "offline" when down', () => {
    const banner = (status: Status) => render(fakeClient(status).client, createElement(ConnectionStatus));
    expect(banner('connected')).toBe('');
    expect(banner('reconnecting')).toBe('<div role="status" data-status="reconnecting">reconnecting…</div>');
    expect(banner('disconnected')).toBe('<div role="status" data-status="disconnected">offline</div>');
    expect(banner('connecting')).toContain('connecting…');
    expect(banner('unauthorized')).toContain('signed out');
  });

  it('ConnectionStatus carries the last error code and takes custom labels', () => {
    const { client } = fakeClient('reconnecting', undefined, 'SERVER_DRAINING');
    expect(
      render(
        client,
        createElement(ConnectionStatus, { labels: { reconnecting: 'Back in a moment' }, className: 'b' }),
      ),
    ).toBe(
      '<div role="status" data-status="reconnecting" data-error="SERVER_DRAINING" class="b">Back in a moment</div>',
    );
  });

  it('useConnectionState, useSession and useQueue read the client', () => {
    let session = fromRestored({
      recovered: true,
      rooms: ['lobby'],
      expiresAt: 1,
      queues: [{ eventId: 'ev1', position: 3, size: 8 }],
      holds: [],
      gaps: [],
      gapReasons: {},
      positions: {},
    });
    session = withHold(session, { eventId: 'ev1', seatIds: ['B2'], expiresAt: 1, fence: 1 });
    const { client } = fakeClient('connected', session);
    function Probe(): ReactElement {
      const { status } = useConnectionState();
      const s = useSession();
      const { place } = useQueue('ev1');
      const other = useQueue('ev2');
      return createElement(
        'p',
        null,
        `${status}|${s?.rooms.join(',')}|${place?.position}/${place?.size}|${other.place === undefined ? 'none' : 'queued'}`,
      );
    }
    expect(render(client, createElement(Probe))).toBe('<p>connected|lobby|3/8|none</p>');
  });

  it('useSeats lists the held seats and has no map before it is read', () => {
    const session = withHold(
      fromRestored({
        recovered: false,
        rooms: [],
        expiresAt: 1,
        queues: [],
        holds: [],
        gaps: [],
        gapReasons: {},
        positions: {},
      }),
      { eventId: 'ev1', seatIds: ['A1', 'A3'], expiresAt: 1, fence: 1 },
    );
    const { client } = fakeClient('connected', session);
    function Probe(): ReactElement {
      const { seats, version, held } = useSeats('ev1');
      return createElement(
        'p',
        null,
        `${seats === undefined ? 'no map' : 'map'}|${version ?? 'no version'}|${held.join(',')}`,
      );
    }
    // Server rendering runs no effects: the map is read (and followed, see seat-map-follower.test.ts) on mount.
    expect(render(client, createElement(Probe))).toBe('<p>no map|no version|A1,A3</p>');
  });

  it('the hooks throw a clear error outside a provider', () => {
    function Probe(): ReactElement {
      useConnectionState();
      return createElement('p');
    }
    expect(() => renderToString(createElement(Probe))).toThrow(/inside <StaylineProvider>/);
  });
});
