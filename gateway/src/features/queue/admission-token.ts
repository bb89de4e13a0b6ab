/**
 * Admission tokens: what `queue:admitted` hands a user and `seat:hold` checks for an event that admits
 * through its queue. `v1.<payload>.<mac>` with payload = base64url(JSON [eventId, userId, expiresAt]) and
 * mac = HMAC-SHA256 over `v1.<payload>` with a KeyObject (a string key would be re-parsed on every call).
 * Deterministic: the same admission always yields the same token, so a restore can hand it out again
 * without storing it. Pure: no I/O, clock injected.
 */
import { createHmac, createSecretKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import type { EventId, UserId } from '@stayline/client-sdk/protocol';

export interface AdmissionTokens {
  sign(eventId: EventId, userId: UserId, expiresAt: number): string;
  /** True when `token` admits `userId` to `eventId` now. */
  verify(token: string, eventId: EventId, userId: UserId): boolean;
}

/**
 * The admission key: ADMISSION_SECRET when set, else derived from JWT_SECRET (HMAC of a fixed label, so the
 * JWT secret itself never signs admissions), else random per process (single node only; the caller warns).
 */
export function admissionKey(admissionSecret: string | undefined, jwtSecret: string | undefined): KeyObject {
  if (admissionSecret !== undefined) return createSecretKey(Buffer.from(admissionSecret, 'utf8'));
  if (jwtSecret !== undefined)
    return createSecretKey(createHmac('sha256', jwtSecret).update('stayline admission tokens v1').digest());
  return createSecretKey(randomBytes(32));
}

export function createAdmissionTokens(key: KeyObject, now: () => number = Date.now): AdmissionTokens {
  const mac = (input: string): Buffer => createHmac('sha256', key).update(input).digest();
  return {
    sign(eventId, userId, expiresAt) {
      const input = `v1.${Buffer.from(JSON.stringify([eventId, userId, expiresAt])).toString('base64url')}`;
      return `${input}.${mac(input).toString('base64url')}`;
    },
    verify(token, eventId, userId) {
      const parts = token.split('.');
      if (parts.length !== 3 || parts[0] !== 'v1') return false;
      const given = Buffer.from(parts[2] ?? '', 'base64url');
      const expected = mac(`v1.${parts[1] ?? ''}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
      try {
        const payload: unknown = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8'));
        if (!Array.isArray(payload) || payload.length !== 3) return false;
        const [e, u, x] = payload as unknown[];
        return e === eventId && u === userId && typeof x === 'number' && x > now();
      } catch {
        return false; // a valid MAC over bytes that are not our JSON cannot happen without the key
      }
    },
  };
}
