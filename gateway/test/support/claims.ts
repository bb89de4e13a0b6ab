/**
 * Helpers for queue and seat tests: the service API calls (define an event, admit, confirm a sale) and a
 * lean raw client (loadtest/src/lean-client.ts) that records the events it receives, for tests with
 * hundreds of clients.
 */
import type { Ack } from '@stayline/client-sdk/protocol';
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
