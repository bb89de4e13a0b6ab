/**
 * Helpers for queue and seat tests: the service API calls (define an event, admit, confirm a sale) and a
 * lean raw client (loadtest/src/lean-client.ts) that records the events it receives, for tests with
 * hundreds of clients.
 */
import type { Socket } from 'socket.io-client';
import { applySeatUpdate, type VersionedSeatMap } from '@stayline/client-sdk';
import type { Ack, SeatMapResult, SeatUpdatePayload } from '@stayline/client-sdk/protocol';
import { LeanClient } from '../../../loadtest/src/lean-client.ts';

export interface ServiceAnswer<T = unknown> {
  status: number;
  body: { ok: true; data: T } | { ok: false; error: { code: string; message: string } };
}

async function call<T>(
  method: string,
  url: string,
  token: string,
  body?: unknown,
): Promise<ServiceAnswer<T>> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as ServiceAnswer<T>['body'] };
}

/** The service API of one node. */
export function service(baseUrl: string, token: string) {
  return {
    defineEvent: (eventId: string, body: unknown) =>
      call('PUT', `${baseUrl}/v1/events/${eventId}`, token, body),
    deleteEvent: (eventId: string, query = '') =>
      call<{ deleted: true; heldUsers: number; queued: number; admitted: number }>(
        'DELETE',
        `${baseUrl}/v1/events/${eventId}${query}`,
        token,
      ),
    admit: (eventId: string, count: number) =>
      call<{ admitted: string[] }>('POST', `${baseUrl}/v1/events/${eventId}/admit`, token, { count }),
    confirm: (eventId: string, body: unknown) =>
      call<{ sold: string[] }>('POST', `${baseUrl}/v1/events/${eventId}/seats/confirm`, token, body),
  };
}

/** A lean client that keeps every server event it receives, in order. */
export class RecordingClient {
  readonly events: { event: string; data: unknown }[] = [];
  readonly client: LeanClient;
  session: unknown;

  constructor(url: string, token: string) {
    this.client = new LeanClient({ url, token, onEvent: (event, data) => this.events.push({ event, data }) });
  }

  async connect(): Promise<this> {
    const outcome = await this.client.connect(30_000);
    if (outcome.error) throw new Error(`connect refused: ${JSON.stringify(outcome.error)}`);
    this.session = outcome.session;
    return this;
  }

  request<T>(event: string, payload: unknown, timeoutMs = 20_000): Promise<Ack<T>> {
    return this.client.request(event, payload, timeoutMs) as Promise<Ack<T>>;
  }

  received<T>(event: string): T[] {
    return this.events.filter((e) => e.event === event).map((e) => e.data as T);
  }

  close(): void {
    this.client.close();
  }
}

/**
 * A seat-map follower on a socket.io-client socket, applying `seat:update`s by the SDK's rule
 * (`applySeatUpdate`): reads the map, then keeps it current; a gap re-reads it. Counts what it saw.
 */
export class SeatWatcher {
  map: VersionedSeatMap = { version: -1, seats: {} };
  updates = 0;
  gaps = 0;
  stale = 0;
  /** Receive times of the updates (ms, performance.now()). */
  readonly times: number[] = [];

  constructor(
    private readonly socket: Socket,
    private readonly eventId: string,
  ) {
    socket.on('seat:update', (u: SeatUpdatePayload) => {
      if (u.eventId !== eventId) return;
      this.updates += 1;
      this.times.push(performance.now());
      const outcome = applySeatUpdate(this.map, u);
      if (outcome.kind === 'applied') this.map = outcome.map;
      else if (outcome.kind === 'stale') this.stale += 1;
      else {
        this.gaps += 1;
        void this.read();
      }
    });
  }

  /** Reads the map (and so follows the event); keeps whichever of map and current is newer. */
  async read(): Promise<this> {
    const ack = await new Promise<Ack<SeatMapResult>>((resolve) =>
      this.socket.emit('seat:map', { eventId: this.eventId }, resolve),
    );
    if (!ack.ok) throw new Error(`seat:map refused: ${ack.error.code}`);
    if (ack.data.version > this.map.version) this.map = { version: ack.data.version, seats: ack.data.seats };
    return this;
  }
}
