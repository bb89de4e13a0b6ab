import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { SdkError, type SeatStatus } from '@stayline/client-sdk';
import {
  ConnectionStatus,
  StaylineProvider,
  useAppEvent,
  useConnectionState,
  useQueue,
  useSeats,
} from '@stayline/client-sdk/react';
import { GATEWAY_URL, createStaylineClient, type AppEvents } from './stayline.ts';

const EVENT_ID = new URLSearchParams(location.search).get('event') ?? 'demo';
const TOKEN_KEY = 'stayline-starter-token';

export function App() {
  // The token lives in the tab's sessionStorage; `#token=` in the URL signs in at once (and is removed).
  const [token, setToken] = useState<string>(() => {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
    if (fromHash !== null) history.replaceState(null, '', location.pathname + location.search);
    return fromHash ?? sessionStorage.getItem(TOKEN_KEY) ?? '';
  });
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const client = useMemo(() => createStaylineClient(() => tokenRef.current), []);

  useEffect(() => {
    if (token === '') return;
    sessionStorage.setItem(TOKEN_KEY, token);
    client.connect();
    return () => client.close();
  }, [client, token]);

  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken('');
  };

  return (
    <StaylineProvider client={client}>
      <ConnectionStatus className="banner" labels={{ idle: null }} />
      <main>
        <header>
          <h1>Stayline starter</h1>
          {token === '' ? null : (
            <button className="link" onClick={signOut} data-testid="sign-out">
              Sign out
            </button>
          )}
        </header>
        {token === '' ? <SignIn onToken={setToken} /> : <Shop />}
      </main>
    </StaylineProvider>
  );
}

function SignIn({ onToken }: { onToken: (token: string) => void }) {
  const [value, setValue] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim() !== '') onToken(value.trim());
  };
  return (
    <form className="card" onSubmit={submit}>
      <h2>Sign in</h2>
      <p>
        Paste a dev token for the gateway at <code>{GATEWAY_URL}</code>:{' '}
        <code>npm run -s token -- --sub you</code> in the Stayline repository (or the one{' '}
        <code>npm start</code> printed).
      </p>
      <input
        data-testid="token-input"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        placeholder="eyJhbGciOi…"
        aria-label="Dev token"
      />
      <button type="submit" data-testid="sign-in">
        Sign in
      </button>
    </form>
  );
}

function Shop() {
  const { status, lastError } = useConnectionState();
  const [announcement, setAnnouncement] = useState<string | undefined>(undefined);
  // A typed app event: `text` is a string because AppEvents says so.
  useAppEvent<AppEvents, 'announcement'>('announcement', ({ text }) => setAnnouncement(text));
  return (
    <>
      <p className="muted">
        Connection: <strong data-testid="status">{status}</strong>
        {status !== 'connected' && lastError !== undefined ? ` (${lastError})` : ''}
      </p>
      {announcement === undefined ? null : (
        <p className="announcement" data-testid="announcement">
          {announcement}
        </p>
      )}
      <Queue />
      <SeatMap />
    </>
  );
}

const codeOf = (err: unknown): string => (err instanceof SdkError ? err.code : 'INTERNAL');

function Queue() {
  const { place, admission, join, leave } = useQueue(EVENT_ID);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = (call: () => Promise<unknown>) => {
    setError(undefined);
    call().catch((err: unknown) => setError(codeOf(err)));
  };
  return (
    <section className="card">
      <h2>Queue for {EVENT_ID}</h2>
      <p data-testid="queue">
        {admission !== undefined
          ? 'Admitted: pick your seats.'
          : place !== undefined
            ? `You are number ${place.position} of ${place.size}.`
            : 'Not in the queue.'}
      </p>
      <button data-testid="join" disabled={place !== undefined} onClick={() => run(join)}>
        Join the queue
      </button>{' '}
      <button disabled={place === undefined} onClick={() => run(leave)}>
        Leave
      </button>
      {error === undefined ? null : <p className="error">{error}</p>}
    </section>
  );
}

function SeatMap() {
  const { seats, held, hold, release, error: mapError } = useSeats(EVENT_ID);
  const [error, setError] = useState<string | undefined>(undefined);
  const mine = new Set(held);
  const ids = Object.keys(seats ?? {}).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const toggle = (id: string) => {
    setError(undefined);
    (mine.has(id) ? release([id]) : hold([id])).catch((err: unknown) => setError(codeOf(err)));
  };
  const view = (id: string): SeatStatus | 'mine' => (mine.has(id) ? 'mine' : (seats?.[id] ?? 'free'));
  return (
    <section className="card">
      <h2>Seats</h2>
      {seats === undefined ? (
        <p className="muted">{mapError === undefined ? 'Loading…' : `No seat map: ${mapError.code}`}</p>
      ) : (
        <div className="seats">
          {ids.map((id) => (
            <button
              key={id}
              className="seat"
              data-seat={id}
              data-state={view(id)}
              disabled={view(id) === 'held' || view(id) === 'sold'}
              onClick={() => toggle(id)}
            >
              {id}
            </button>
          ))}
        </div>
      )}
      <p>
        Yours: <strong data-testid="mine">{held.length === 0 ? 'none' : [...held].sort().join(', ')}</strong>
      </p>
      {error === undefined ? null : <p className="error">{error}</p>}
    </section>
  );
}
