import { describe, expect, it } from 'vitest';
import { readToken } from '../../../src/auth/index.ts';

describe('readToken', () => {
  it('reads the token from handshake auth.token', () => {
    expect(readToken({ auth: { token: 't1' }, headers: {} })).toBe('t1');
  });

  it('reads the token from an Authorization: Bearer header, whatever the scheme case', () => {
    expect(readToken({ headers: { authorization: 'Bearer t2' } })).toBe('t2');
    expect(readToken({ headers: { authorization: 'bearer t3' } })).toBe('t3');
    expect(readToken({ headers: { authorization: 'BEARER   t4  ' } })).toBe('t4');
  });

  it('finds the header under any name case in a hand-built handshake', () => {
    expect(readToken({ headers: { Authorization: 'Bearer t5' } })).toBe('t5');
  });

  it('prefers auth.token over the Authorization header', () => {
    expect(
      readToken({ auth: { token: 'from-auth' }, headers: { authorization: 'Bearer from-header' } }),
    ).toBe('from-auth');
  });

  it('falls back to the header when auth.token is empty or not a string', () => {
    expect(readToken({ auth: { token: '' }, headers: { authorization: 'Bearer h1' } })).toBe('h1');
    expect(readToken({ auth: { token: 42 }, headers: { authorization: 'Bearer h2' } })).toBe('h2');
    expect(readToken({ auth: 'token', headers: { authorization: 'Bearer h3' } })).toBe('h3');
  });

  it('ignores other schemes, a bare token and a Bearer header without credentials', () => {
    expect(readToken({ headers: { authorization: 'Basic YWxpY2U6cHc=' } })).toBeUndefined();
    expect(readToken({ headers: { authorization: 'eyJhbGciOi.x.y' } })).toBeUndefined();
    expect(readToken({ headers: { authorization: 'Bearer' } })).toBeUndefined();
    expect(readToken({ headers: { authorization: 'Bearer a b' } })).toBeUndefined();
  });

  it('refuses to choose between two Authorization headers', () => {
    expect(readToken({ headers: { authorization: ['Bearer a', 'Bearer b'] } })).toBeUndefined();
    expect(readToken({ headers: { authorization: ['Bearer only'] } })).toBe('only');
  });

  it('never reads a token from the URL query string', () => {
    // A handshake as socket.io builds it: the query is there, but readToken is never given it.
    const handshake = {
      auth: {},
      headers: { host: 'gw.example', referer: 'https://app.example/?token=q1' },
      query: { token: 'q1', access_token: 'q1', EIO: '4', transport: 'websocket' },
      url: '/socket.io/?EIO=4&transport=websocket&token=q1',
    };
    expect(readToken(handshake)).toBeUndefined();
  });

  it('returns undefined when there is no token at all', () => {
    expect(readToken({ headers: {} })).toBeUndefined();
    expect(readToken({ auth: null, headers: {} })).toBeUndefined();
  });
});
