import { describe, expect, it } from 'vitest';
import { createOriginPolicy } from '../../../../src/transport/engine/origin-policy.ts';

describe('createOriginPolicy', () => {
  it('lets a request without an Origin header through, whatever the list', () => {
    for (const allowed of [[], ['https://app.example'], ['*']]) {
      expect(createOriginPolicy(allowed).isAllowed(undefined, 'gw.example'), JSON.stringify(allowed)).toBe(
        true,
      );
      expect(createOriginPolicy(allowed).isAllowed(undefined, undefined), JSON.stringify(allowed)).toBe(true);
    }
  });

  it('allows any origin with *, even listed beside exact origins', () => {
    const policy = createOriginPolicy(['https://app.example', '*']);
    expect(policy.isAllowed('https://evil.example', 'gw.example')).toBe(true);
    expect(policy.isAllowed('null', undefined)).toBe(true);
  });

  it('allows exactly the listed origins, ignoring case and a trailing slash in the list', () => {
    const policy = createOriginPolicy(['https://App.Example/', 'http://localhost:5173']);
    expect(policy.isAllowed('https://app.example', 'gw.example')).toBe(true);
    expect(policy.isAllowed('HTTPS://APP.EXAMPLE', 'gw.example')).toBe(true);
    expect(policy.isAllowed('http://localhost:5173', 'gw.example')).toBe(true);
  });

  it('refuses look-alike origins: other scheme, port, subdomain, suffix or prefix', () => {
    const policy = createOriginPolicy(['https://app.example']);
    for (const origin of [
      'http://app.example',
      'https://app.example:8443',
      'https://evil.app.example',
      'https://app.example.evil.example',
      'https://app.exampl',
      'https://xapp.example',
      'null',
      '',
    ]) {
      expect(policy.isAllowed(origin, 'gw.example'), origin).toBe(false);
    }
  });

  it('with an exact list, still allows a page served from the gateway host itself (the /demo page)', () => {
    const policy = createOriginPolicy(['https://app.example']);
    expect(policy.isAllowed('http://gw.example:3000', 'gw.example:3000')).toBe(true);
    expect(policy.isAllowed('http://other.example:3000', 'gw.example:3000')).toBe(false);
    expect(policy.allowedList).toEqual(['same origin as the gateway', 'https://app.example']);
  });

  it('with allowLocalhost, allows http://localhost and 127.0.0.1 pages of any port, and nothing that looks like them', () => {
    const policy = createOriginPolicy(['https://app.example'], { allowLocalhost: true });
    for (const origin of [
      'http://localhost:5173',
      'http://127.0.0.1:4173',
      'http://LOCALHOST:8080',
      'http://localhost',
      'http://[::1]:5173',
    ]) {
      expect(policy.isAllowed(origin, 'localhost:3000'), origin).toBe(true);
    }
    for (const origin of [
      'https://localhost.evil.example',
      'http://localhost.evil.example:5173',
      'http://evil.example:5173',
      'http://127.0.0.2:5173',
      'ws://localhost:5173',
      'null',
    ]) {
      expect(policy.isAllowed(origin, 'gw.example:3000'), origin).toBe(false);
    }
    expect(policy.allowedList).toContain('http://localhost:*');
    // Off by default (test and production).
    expect(createOriginPolicy(['https://app.example']).isAllowed('http://localhost:5173', 'gw.example')).toBe(
      false,
    );
  });

  it('with an empty list, allows only pages served from the gateway host itself', () => {
    const policy = createOriginPolicy([]);
    expect(policy.isAllowed('http://localhost:3000', 'localhost:3000')).toBe(true);
    expect(policy.isAllowed('http://LOCALHOST:3000', 'localhost:3000')).toBe(true);
    expect(policy.isAllowed('http://localhost:3000', 'LocalHost:3000')).toBe(true);
    // A browser omits the default port from Origin; Host omits it too.
    expect(policy.isAllowed('http://gw.example:80', 'gw.example')).toBe(true);
    expect(policy.isAllowed('http://localhost:5173', 'localhost:3000')).toBe(false);
    expect(policy.isAllowed('http://evil.example', 'localhost:3000')).toBe(false);
    expect(policy.isAllowed('http://localhost:3000.evil.example', 'localhost:3000')).toBe(false);
  });

  it('with an empty list, refuses an origin it cannot compare: no Host, the opaque "null" origin, garbage', () => {
    const policy = createOriginPolicy([]);
    expect(policy.isAllowed('http://localhost:3000', undefined)).toBe(false);
    expect(policy.isAllowed('null', 'localhost:3000')).toBe(false);
    expect(policy.isAllowed('not a url', 'localhost:3000')).toBe(false);
    expect(policy.isAllowed('', 'localhost:3000')).toBe(false);
  });
});
