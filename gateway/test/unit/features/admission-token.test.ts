import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admissionKey, createAdmissionTokens } from '../../../src/features/queue/admission-token.ts';

const NOW = 1_800_000_000_000;

describe('admission tokens', () => {
  const tokens = createAdmissionTokens(createSecretKey(Buffer.alloc(32, 7)), () => NOW);

  it('admits the user it was signed for, to that event, until it expires', () => {
    const token = tokens.sign('ev1', 'alice', NOW + 1000);
    expect(tokens.verify(token, 'ev1', 'alice')).toBe(true);
    expect(tokens.verify(token, 'ev2', 'alice')).toBe(false);
    expect(tokens.verify(token, 'ev1', 'bob')).toBe(false);
    expect(tokens.verify(tokens.sign('ev1', 'alice', NOW), 'ev1', 'alice')).toBe(false);
  });

  it('is deterministic, so a restore can hand out the same token again', () => {
    expect(tokens.sign('ev1', 'alice', NOW + 5)).toBe(tokens.sign('ev1', 'alice', NOW + 5));
  });

  it('refuses forged, tampered and malformed tokens', () => {
    const token = tokens.sign('ev1', 'alice', NOW + 1000);
    const [v, payload, mac] = token.split('.');
    const other = createAdmissionTokens(createSecretKey(Buffer.alloc(32, 8)), () => NOW);
    const later = Buffer.from(JSON.stringify(['ev1', 'alice', NOW + 10_000_000])).toString('base64url');
    for (const bad of [
      other.sign('ev1', 'alice', NOW + 1000),
      `${v}.${later}.${mac}`,
      `${v}.${payload}.`,
      `v2.${payload}.${mac}`,
      'garbage',
      '',
    ])
      expect(tokens.verify(bad, 'ev1', 'alice')).toBe(false);
  });

  it('derives its key from ADMISSION_SECRET, else from JWT_SECRET (never the JWT secret itself)', () => {
    const secret = 'x'.repeat(32);
    const fromJwt = admissionKey(undefined, secret);
    expect(fromJwt.export().equals(Buffer.from(secret))).toBe(false);
    expect(admissionKey(undefined, secret).export()).toEqual(fromJwt.export());
    expect(admissionKey('y'.repeat(32), secret).export()).toEqual(Buffer.from('y'.repeat(32)));
    expect(admissionKey(undefined, undefined).export()).not.toEqual(
      admissionKey(undefined, undefined).export(),
    );
  });
});
