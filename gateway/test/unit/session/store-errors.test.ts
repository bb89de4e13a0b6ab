import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors/index.js';
import { describe, expect, it } from 'vitest';
import { GatewayError, isGatewayError } from '../../../src/errors/gateway-error.ts';
import { isRedisUnavailableError, redisReconnectDelayMs, toStoreError } from '../../../src/infra/redis.ts';

const replyError = (message: string): Error => new ReplyError(message) as Error;

describe('mapping Redis errors for the session store', () => {
  it.each([
    ['offline queue off', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['client closed', new Error('Connection is closed.')],
    ['command timeout', new Error('Command timed out')],
    ['dropped in flight', new MaxRetriesPerRequestError(0)],
    ['network', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['loading', replyError('LOADING Redis is loading the dataset in memory')],
    ['failover', replyError("READONLY You can't write against a read only replica.")],
    ['busy script', replyError('BUSY Redis is busy running a script.')],
    ['out of memory', replyError("OOM command not allowed when used memory > 'maxmemory'.")],
  ])('maps %s to STORE_UNAVAILABLE with the cause kept', (_what, err) => {
    expect(isRedisUnavailableError(err)).toBe(true);
    const mapped = toStoreError(err, 'getSession');
    expect(isGatewayError(mapped, 'STORE_UNAVAILABLE')).toBe(true);
    expect((mapped as GatewayError).cause).toBe(err);
  });

  it.each([
    [
      'a Lua runtime error',
      replyError('ERR user_script:3: Script attempted to access nonexistent global variable'),
    ],
    ['a wrong type', replyError('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['a reply-shape bug', new Error('Unexpected reply from attachSocket: null')],
    ['a ReplyError-like message outside a ReplyError', new Error('LOADING but not from Redis')],
  ])('leaves %s as it is, to surface as INTERNAL', (_what, err) => {
    expect(isRedisUnavailableError(err)).toBe(false);
    expect(toStoreError(err, 'joinRoom')).toBe(err);
  });

  it('passes a GatewayError through unchanged', () => {
    const err = new GatewayError('STORE_UNAVAILABLE', 'closed');
    expect(toStoreError(err, 'ping')).toBe(err);
  });
});

describe('redisReconnectDelayMs', () => {
  it('grows from 25-50 ms and is capped at 1 s for ever, never giving up', () => {
    expect(redisReconnectDelayMs(1, 1000, () => 0)).toBe(25);
    expect(redisReconnectDelayMs(1, 1000, () => 0.999)).toBe(49);
    expect(redisReconnectDelayMs(3, 1000, () => 0)).toBe(100);
    for (const attempt of [6, 7, 50, 10_000]) {
      expect(redisReconnectDelayMs(attempt, 1000, () => 0.999)).toBeLessThanOrEqual(1000);
      expect(redisReconnectDelayMs(attempt, 1000, () => 0)).toBe(500);
    }
  });
});
