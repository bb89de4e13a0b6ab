/**
 * Which optional protocol features the target serves, found by asking once before the load starts: a
 * server without the queue or seat handlers answers UNKNOWN_EVENT, one without the event EVENT_UNKNOWN.
 */
import { LeanClient } from '../lean-client.ts';
import type { Ack } from '@stayline/client-sdk/protocol';

export interface Features {
  queue: boolean;
  seats: boolean;
  /** The code that ruled a feature out, for the report's notes. */
  why: { queue?: string; seats?: string };
}

/**
 * Defines `eventId` with `seats` (plus the probe's seat) through the service API (`PUT /v1/events/:id`),
 * when a service token is at hand; returns a note saying what happened, for the report.
 */
export async function defineEvent(
  url: string,
  serviceToken: string | undefined,
  eventId: string,
  seats: string[],
): Promise<string> {
  if (serviceToken === undefined)
    return `event ${eventId} not defined here (no service token): it must exist already`;
  try {
    const res = await fetch(`${url}/v1/events/${encodeURIComponent(eventId)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${serviceToken}` },
      body: JSON.stringify({
        seats: [...seats, 'probe-seat'],
        requiresAdmission: false,
        maxSeatsPerUser: 10,
      }),
      signal: AbortSignal.timeout(10_000),
    });
    return `PUT /v1/events/${eventId} with ${seats.length} seats answered ${res.status}`;
  } catch (err) {
    return `PUT /v1/events/${eventId} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export async function probeFeatures(
  url: string,
  token: string,
  eventId: string,
  seatId: string,
): Promise<Features> {
  const client = new LeanClient({ url, token });
  const why: Features['why'] = {};
  try {
    const outcome = await client.connect(10_000);
    if (outcome.error) throw new Error(`probe refused: ${outcome.error.code ?? '?'}`);
    const queue = (await client.request('queue:join', { eventId })) as Ack<unknown> | undefined;
    const seat = (await client.request('seat:hold', { eventId, seatIds: [seatId] })) as
      Ack<unknown> | undefined;
    if (queue?.ok) await client.request('queue:leave', { eventId });
    if (seat?.ok) await client.request('seat:release', { eventId, seatIds: [seatId] });
    if (!queue?.ok) why.queue = queue?.error.code ?? 'NO_ACK';
    if (!seat?.ok) why.seats = seat?.error.code ?? 'NO_ACK';
    return { queue: queue?.ok === true, seats: seat?.ok === true, why };
  } finally {
    client.close();
  }
}
