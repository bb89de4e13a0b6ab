/**
 * The waiting queue's operations: `queue:join` / `queue:leave` and admission (by rate and by service call)
 * with signed admission tokens. What must reach sockets goes through the QueueNotifier (index.ts builds it
 * over the transport's delivery).
 */
import { z } from 'zod';
import type {
  EventId,
  QueueAdmittedPayload,
  QueueLeaveResult,
  QueuePlace,
  UserId,
} from '@stayline/client-sdk/protocol';
import { requestObject } from '../../infra/bounded-schema.ts';
import { fastObject, patternString } from '../fast-check.ts';
import type { Admission, ClaimStore } from '../../session/claim-store.ts';
import type { AdmissionTokens } from './admission-token.ts';

/** Event ids: 1-64 of letters, digits and `_ - . :` (they become part of room names and keys). */
export const EVENT_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
export const eventIdSchema = z.string().regex(EVENT_ID_PATTERN, 'invalid event id');

/** The payload of `queue:join` and `queue:leave` (type and fields checked before any value). */
export const queueRequestSchema = requestObject({ eventId: eventIdSchema });
/** Fast check of the same payload (features/fast-check.ts; undefined: the schema decides). */
export const queueRequestCheck = fastObject<QueueRequest>({ eventId: patternString(EVENT_ID_PATTERN) });

/** What the queue feature needs delivered; the transport implements it over socket.io. */
export interface QueueNotifier {
  /** The user is queued (this node starts watching their position) or left / was admitted (stops). */
  queued(userId: UserId, eventId: EventId, position: number, size: number): void;
  unqueued(userId: UserId, eventId: EventId): void;
  /** `queue:admitted` to every socket of the user, on every node. */
  admitted(userId: UserId, payload: QueueAdmittedPayload): void;
}

export interface QueueDeps {
  store: ClaimStore;
  tokens: AdmissionTokens;
  notifier: QueueNotifier;
  /** Counts queue operations (bounded labels: operation, result). */
  count: (operation: string, result: string) => void;
}

export type QueueRequest = z.infer<typeof queueRequestSchema>;

export async function joinQueue(
  deps: QueueDeps,
  userId: UserId,
  { eventId }: QueueRequest,
): Promise<QueuePlace> {
  // Queued users do not follow the seat map (they are waiting, not choosing): a 10,000-person queue would
  // otherwise receive every seat change.
  const result = await deps.store.joinQueue(userId, eventId);
  if (result.kind === 'admitted') {
    // Already admitted: tell the token again (deterministic) and answer position 0.
    deps.notifier.admitted(userId, {
      eventId,
      expiresAt: result.expiresAt,
      admissionToken: deps.tokens.sign(eventId, userId, result.expiresAt),
    });
    deps.count('join', 'admitted');
    return { eventId, position: 0, size: result.size };
  }
  deps.notifier.queued(userId, eventId, result.position, result.size);
  deps.count('join', 'ok');
  return { eventId, position: result.position, size: result.size };
}

export async function leaveQueue(
  deps: QueueDeps,
  userId: UserId,
  { eventId }: QueueRequest,
): Promise<QueueLeaveResult> {
  const { left } = await deps.store.leaveQueue(userId, eventId);
  deps.notifier.unqueued(userId, eventId);
  deps.count('leave', left ? 'ok' : 'noop');
  return { eventId, left };
}

/** Admits `count` users (service call) or those due by the event's rate (count undefined), and tells them. */
export async function admitUsers(deps: QueueDeps, eventId: EventId, count?: number): Promise<Admission[]> {
  const admitted = await deps.store.admit(eventId, count);
  for (const { userId, expiresAt } of admitted) {
    deps.notifier.unqueued(userId, eventId);
    deps.notifier.admitted(userId, {
      eventId,
      expiresAt,
      admissionToken: deps.tokens.sign(eventId, userId, expiresAt),
    });
  }
  if (admitted.length > 0) deps.count(count === undefined ? 'admit_rate' : 'admit_call', 'ok');
  return admitted;
}
