/**
 * The demo page the gateway serves at /demo, built on the SDK and its React bindings: a connection banner,
 * an event's waiting queue, a live seat map, and the session as restored after a reconnect.
 * The token comes in the URL fragment (`#token=…`; `npm start` prints such a link with a dev token): a
 * fragment never leaves the browser, so the token reaches no server or load-balancer log. Query
 * parameters: `event` (default `demo`), `url` (the gateway, default this page's origin).
 */
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createClient, SdkError, type SessionChange, type StaylineClient } from '../src/index.ts';
import {
  ConnectionStatus,
  StaylineProvider,
  useConnectionState,
  useQueue,
  useSeats,
  useSession,
  useStaylineClient,
} from '../src/react/index.ts';

const params = new URLSearchParams(location.search);
const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
const eventId = params.get('event') ?? 'demo';
const url = params.get('url') ?? location.origin;

const codeOf = (err: unknown): string => (err instanceof SdkError ? err.code : 'INTERNAL');

function useCallError(): [string | undefined, (p: Promise<unknown>) => void] {
  const [error, setError] = useState<string | undefined>(undefined);
  return [
    error,
    (p) => {
      setError(undefined);
      p.catch((err: unknown) => setError(codeOf(err)));
    },
  ];
}

function Status() {
  const { status, lastError, attempt } = useConnectionState();
  return (
    <p>
      Connection: <strong data-testid="state">{status}</strong>
      {lastError === undefined ? null : (
        <span className="muted">
          {' '}
          (last error <code data-testid="last-error">{lastError}</code>
          {attempt > 0 ? `, attempt ${attempt}` : ''})
        </span>
      )}
    </p>
  );
}

function Queue() {
  const { place, admission, join, leave } = useQueue(eventId);
  const [error, run] = useCallError();
  return (
    <section>
      <h2>Queue for event {eventId}</h2>
      {place === undefined ? (
        <p className="muted" data-testid="queue-position">
          {admission === undefined ? 'not in the queue' : 'admitted: pick your seats'}
        </p>
      ) : (
        <p>
          Position <strong data-testid="queue-position">{place.position}</strong> of{' '}
          <span data-testid="queue-size">{place.size}</span>
        </p>
      )}
      <button data-testid="join-queue" disabled={place !== undefined} onClick={() => run(join())}>
        Join queue
      </button>
      <button data-testid="leave-queue" disabled={place === undefined} onClick={() => run(leave())}>
        Leave queue
      </button>
      {error === undefined ? null : (
        <p className="error" data-testid="queue-error">
          {error}
        </p>
      )}
    </section>
  );
}

function Seats() {
  const { seats, held, error: mapError, hold, release } = useSeats(eventId);
  const [error, run] = useCallError();
  const mine = new Set(held);
  const ids =
    seats === undefined ? [] : Object.keys(seats).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return (
    <section>
      <h2>Seats</h2>
      <p className="muted">
        Click a free seat to hold it, your own (blue) to release it. Held by you:{' '}
        <span data-testid="held-seats">{held.length === 0 ? 'none' : [...held].sort().join(', ')}</span>
      </p>
      {seats === undefined ? (
        <p className="muted">
          {mapError === undefined ? 'loading the seat map…' : `no seat map (${mapError.code})`}
        </p>
      ) : (
        <div className="seats">
          {ids.map((id) => {
            const state = mine.has(id) ? 'mine' : (seats[id] ?? 'free');
            return (
              <button
                key={id}
                className="seat"
                data-seat={id}
                data-state={state}
                disabled={state === 'sold' || state === 'held'}
                onClick={() => run(state === 'mine' ? release([id]) : hold([id]))}
              >
                {id}
              </button>
            );
          })}
        </div>
      )}
      {error === undefined ? null : (
        <p className="error" data-testid="seat-error">
          {error}
        </p>
      )}
    </section>
  );
}

function Restored() {
  const client = useStaylineClient();
  const session = useSession();
  const [last, setLast] = useState<SessionChange | undefined>(undefined);
  const [restores, setRestores] = useState(0);
  useEffect(
    () =>
      client.onSessionChange((change) => {
        if (change.cause !== 'session:restored') return;
        setLast(change);
        setRestores((n) => n + 1);
      }),
    [client],
  );
  if (last === undefined || session === undefined) return null;
  const r = last.restored;
  return (
    <section data-testid="restored" data-restores={restores} data-recovered={String(last.session.recovered)}>
      <h2>Session {restores > 1 ? `restored after reconnect #${restores - 1}` : 'at connect'}</h2>
      <p>
        {last.session.recovered ? 'Recovered an existing session' : 'A fresh session'}: rooms{' '}
        <code>{r?.rooms.join(', ') || 'none'}</code>, queue places{' '}
        <code data-testid="restored-queues">
          {r?.queues.map((q) => `${q.eventId} #${q.position}`).join(', ') || 'none'}
        </code>
        , held seats{' '}
        <code data-testid="restored-holds">
          {r?.holds
            .flatMap((h) => h.seatIds)
            .sort()
            .join(', ') || 'none'}
        </code>
        .
      </p>
      <p data-testid="restored-lost">
        {last.lostAnything
          ? `Lost: ${[...last.lost.rooms, ...last.lost.queues.map((q) => `queue ${q}`), ...last.lost.seats.flatMap((s) => s.seatIds)].join(', ')}`
          : 'Nothing was lost.'}
      </p>
    </section>
  );
}

function App() {
  return (
    <>
      <ConnectionStatus className="banner" />
      <main>
        <h1>Stayline demo</h1>
        <Status />
        {token === '' ? (
          <p className="error">Open this page with #token=… (npm start prints a link with a dev token).</p>
        ) : null}
        <Queue />
        <Seats />
        <Restored />
      </main>
    </>
  );
}

const client: StaylineClient = createClient({ url, getToken: () => token });
(globalThis as { staylineClient?: StaylineClient }).staylineClient = client;
const root = document.getElementById('root');
if (root !== null) {
  createRoot(root).render(
    <StaylineProvider client={client}>
      <App />
    </StaylineProvider>,
  );
}
