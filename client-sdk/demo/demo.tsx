/**
 * The demo page the gateway serves at /demo, built on the SDK and its React bindings: an event's waiting
 * queue (position, progress, admission), a live seat map in rows with a legend, the user's holds, and a
 * connection banner; what was restored after a reconnect. While the connection is not live, everything it
 * shows is greyed out as stale. The token comes in the URL fragment (`#token=…`; `npm start` prints such a
 * link with a dev token): a fragment never leaves the browser, so the token reaches no server or
 * load-balancer log. Query parameters: `event` (default `demo`), `url` (the gateway, default this page's
 * origin).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import {
  CLIENT_ERROR_CATALOGUE,
  ERROR_CATALOGUE,
  SdkError,
  createClient,
  isClientErrorCode,
  type ConnectionState,
  type SdkErrorCode,
  type SessionChange,
  type StaylineClient,
} from '../src/index.ts';
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

/** The token's `sub`, for display only (the gateway verifies the token; the page just reads it). */
function userOf(jwt: string): string | undefined {
  try {
    const payload = JSON.parse(atob((jwt.split('.')[1] ?? '').replace(/-/g, '+').replace(/_/g, '/'))) as {
      sub?: unknown;
    };
    return typeof payload.sub === 'string' ? payload.sub : undefined;
  } catch {
    return undefined;
  }
}

const summaryOf = (code: SdkErrorCode): string =>
  isClientErrorCode(code) ? CLIENT_ERROR_CATALOGUE[code].summary : ERROR_CATALOGUE[code].summary;
const codeOf = (err: unknown): string => (err instanceof SdkError ? err.code : 'INTERNAL');
const live = (state: ConnectionState): boolean => state.status === 'connected';

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

/** A clock that ticks every second, for countdowns. */
function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

const STATUS_TEXT: Record<ConnectionState['status'], string> = {
  idle: 'Not connected',
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  disconnected: 'Offline',
  unauthorized: 'Signed out',
  forbidden: 'Origin refused',
};

/** The header's status pill: always there, fixed size, so nothing moves when the state changes. */
function StatusPill() {
  const state = useConnectionState();
  return (
    <span className="pill" data-status={state.status}>
      <span className="dot" aria-hidden="true" />
      <strong data-testid="state" data-label={STATUS_TEXT[state.status]}>
        {state.status}
      </strong>
    </span>
  );
}

/** What went wrong, only while it matters: never "last error" next to a live connection. */
function Problem() {
  const state = useConnectionState();
  if (live(state) || state.lastError === undefined) return null;
  const hint =
    state.status === 'unauthorized'
      ? 'The gateway refused this token. Open the link `npm start` printed again, or mint one with `npm run -s token -- --sub you`.'
      : state.status === 'forbidden'
        ? "The gateway refuses this page's origin: add it to the gateway's CORS_ORIGINS."
        : state.status === 'reconnecting' || state.status === 'connecting'
          ? `Retrying${state.attempt > 0 ? ` (attempt ${state.attempt + 1})` : ''}: calls made now wait for the connection.`
          : 'Stopped.';
  return (
    <p className="problem" data-testid="problem">
      <code data-testid="last-error">{state.lastError}</code> {summaryOf(state.lastError)} {hint}
    </p>
  );
}

/** Greys its content out as stale while the connection is not live (the page keeps the last known state). */
function Live({ children, label }: { children: ReactNode; label: string }) {
  const state = useConnectionState();
  const stale = !live(state);
  return (
    <section className="card" data-stale={String(stale)} aria-label={label}>
      {stale ? <p className="stale-note">not live · last known state</p> : null}
      {children}
    </section>
  );
}

function Queue() {
  const { place, admission, join, leave } = useQueue(eventId);
  const state = useConnectionState();
  const [error, run] = useCallError();
  const [longest, setLongest] = useState(0);
  const now = useNow();
  useEffect(() => {
    if (place === undefined) setLongest(0);
    else setLongest((n) => Math.max(n, place.position));
  }, [place]);
  const progress =
    admission !== undefined
      ? 1
      : place === undefined || longest === 0
        ? 0
        : (longest - place.position + 1) / (longest + 1);
  return (
    <Live label="Queue">
      <h2>Waiting room</h2>
      {place !== undefined ? (
        <p className="big">
          You are <strong data-testid="queue-position">{place.position}</strong> in line of{' '}
          <span data-testid="queue-size">{place.size}</span>
        </p>
      ) : admission !== undefined ? (
        <p className="big admitted" data-testid="queue-position">
          admitted
        </p>
      ) : (
        <p className="big muted" data-testid="queue-position">
          not in the queue
        </p>
      )}
      <div
        className="progress"
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(progress * 100)}
        data-testid="queue-progress"
      >
        <div style={{ width: `${Math.round(progress * 100)}%` }} />
      </div>
      <p className="muted small" data-testid="admission">
        {admission !== undefined
          ? `Admitted: pick your seats. Your admission is valid for ${Math.max(0, Math.round((admission.expiresAt - now) / 1000))} s.`
          : place !== undefined
            ? 'The queue admits people in order; this page moves by itself.'
            : 'Join the queue to be admitted, then pick seats.'}
      </p>
      <div className="actions">
        <button
          data-testid="join-queue"
          disabled={place !== undefined || admission !== undefined || !live(state)}
          onClick={() => run(join())}
        >
          Join the queue
        </button>
        <button
          className="secondary"
          data-testid="leave-queue"
          disabled={place === undefined || !live(state)}
          onClick={() => run(leave())}
        >
          Leave
        </button>
      </div>
      {error === undefined ? null : (
        <p className="error" data-testid="queue-error">
          {error}
        </p>
      )}
    </Live>
  );
}

type SeatView = 'free' | 'held' | 'mine' | 'sold';
const LEGEND: [SeatView, string][] = [
  ['free', 'Free'],
  ['mine', 'Yours'],
  ['held', 'Held by someone'],
  ['sold', 'Sold'],
];

/** Seat ids as rows: the letters are the row, the number the seat ("B12" is row B, seat 12). */
function rowsOf(ids: string[]): [string, string[]][] {
  const rows = new Map<string, string[]>();
  for (const id of ids) {
    const row = /^[A-Za-z]+/.exec(id)?.[0] ?? '·';
    rows.set(row, [...(rows.get(row) ?? []), id]);
  }
  const byNumber = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  return [...rows.entries()]
    .sort(([a], [b]) => byNumber(a, b))
    .map(([row, seats]) => [row, seats.sort(byNumber)]);
}

function Seats() {
  const { seats, held, error: mapError, hold, release } = useSeats(eventId);
  const session = useSession();
  const state = useConnectionState();
  const [error, run] = useCallError();
  const now = useNow();
  const bought = held.filter((id) => seats?.[id] === 'sold');
  const mine = new Set(held.filter((id) => seats?.[id] !== 'sold'));
  const rows = seats === undefined ? [] : rowsOf(Object.keys(seats));
  const width = Math.max(1, ...rows.map(([, ids]) => ids.length));
  const holds = session?.holds.filter((h) => h.eventId === eventId) ?? [];
  const soonest = holds.reduce((t, h) => Math.min(t, h.expiresAt), Infinity);
  return (
    <Live label="Seats">
      <h2>Seats</h2>
      {seats === undefined ? (
        <p className="muted">
          {mapError === undefined ? 'Loading the seat map…' : `No seat map (${mapError.code}).`}
        </p>
      ) : (
        <>
          <div className="stage">stage</div>
          <div className="seatmap" style={{ ['--cols' as string]: width }}>
            {rows.map(([row, ids]) => (
              <div className="row" key={row} data-row={row}>
                <span className="row-label">{row}</span>
                <div className="row-seats">
                  {ids.map((id) => {
                    const status = seats[id] ?? 'free';
                    // A sale wins over the session's copy of the hold (confirmed by the backend).
                    const view: SeatView = status === 'sold' ? 'sold' : mine.has(id) ? 'mine' : status;
                    return (
                      <button
                        key={id}
                        className="seat"
                        data-seat={id}
                        data-state={view}
                        title={`${id}: ${view}`}
                        aria-label={`Seat ${id}, ${view}`}
                        disabled={view === 'sold' || view === 'held' || !live(state)}
                        onClick={() => run(view === 'mine' ? release([id]) : hold([id]))}
                      >
                        {id.replace(/^[A-Za-z]+/, '')}
                      </button>
                    );
                  })}
                </div>
              </div>
            ))}
          </div>
          <ul className="legend">
            {LEGEND.map(([view, label]) => (
              <li key={view}>
                <span className="swatch" data-state={view} /> {label}
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="yours">
        Your seats:{' '}
        <strong data-testid="held-seats">{mine.size === 0 ? 'none' : [...mine].sort().join(', ')}</strong>
        {bought.length > 0 ? (
          <span data-testid="bought-seats"> · bought: {bought.sort().join(', ')}</span>
        ) : null}
        {holds.length > 0 && Number.isFinite(soonest) ? (
          <span className="muted"> · held for {Math.max(0, Math.round((soonest - now) / 1000))} s more</span>
        ) : null}
      </p>
      <p className="muted small">Tap a free seat to hold it, one of yours to release it.</p>
      {error === undefined ? null : (
        <p className="error" data-testid="seat-error">
          {error}
        </p>
      )}
    </Live>
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
    <section
      className="card restored"
      data-testid="restored"
      data-restores={restores}
      data-recovered={String(last.session.recovered)}
    >
      <h2>{restores > 1 ? `Session restored after reconnect #${restores - 1}` : 'Session at connect'}</h2>
      <p>
        {last.session.recovered ? 'The gateway still had your session' : 'A fresh session'}: queue places{' '}
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
      <p data-testid="restored-lost" className={last.lostAnything ? 'error' : 'muted'}>
        {last.lostAnything
          ? `Lost: ${[...last.lost.rooms, ...last.lost.queues.map((q) => `queue ${q}`), ...last.lost.seats.flatMap((s) => s.seatIds)].join(', ')}`
          : 'Nothing was lost.'}
      </p>
    </section>
  );
}

function App() {
  const user = userOf(token);
  return (
    <>
      {/* Floating, out of the flow: the page never moves when the connection state changes. */}
      <div className="overlay">
        <ConnectionStatus
          className="banner"
          labels={{
            idle: null,
            connecting: 'Connecting…',
            forbidden: 'This page may not connect (CORS_ORIGINS)',
          }}
        />
        <Problem />
      </div>
      <header>
        <div>
          <h1>Stayline demo</h1>
          <p className="muted small">
            Event <code>{eventId}</code>
            {user === undefined ? null : (
              <>
                {' '}
                · signed in as <strong data-testid="user">{user}</strong>
              </>
            )}
          </p>
        </div>
        <StatusPill />
      </header>
      <main>
        {token === '' ? (
          <p className="problem">
            Open this page with #token=… (`npm start` prints a link with a dev token).
          </p>
        ) : null}
        <div className="grid">
          <Queue />
          <Seats />
        </div>
        <p className="hint" data-testid="second-tab-hint">
          <strong>Watch it live:</strong> open{' '}
          <a href={location.href} target="_blank" rel="noreferrer">
            this page in a second tab
          </a>{' '}
          and hold a seat in one: the other shows it within a moment. As another user:{' '}
          <code>npm run -s token -- --sub bob</code>, then <code>#token=…</code>.
        </p>
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
