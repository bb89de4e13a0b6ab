import { describe, expect, it } from 'vitest';
import { createReadiness } from '../../../../src/transport/http/readiness.ts';

const up = (name: string) => ({ name, ping: () => Promise.resolve('PONG') });
const down = (name: string) => ({ name, ping: () => Promise.reject(new Error('connection refused')) });

describe('createReadiness', () => {
  it('is ready when not draining and every check answers, listing draining first', async () => {
    const readiness = createReadiness([up('store'), up('claims')], () => false);
    const result = await readiness();
    expect(result).toEqual({ ready: true, checks: { draining: 'ok', store: 'ok', claims: 'ok' } });
    expect(Object.keys(result.checks)).toEqual(['draining', 'store', 'claims']);
  });

  it('names a failed check unavailable instead of rejecting', async () => {
    const readiness = createReadiness([up('store'), down('claims')], () => false);
    expect(await readiness()).toEqual({
      ready: false,
      checks: { draining: 'ok', store: 'ok', claims: 'unavailable' },
    });
  });

  it('is not ready while draining, whatever the checks say', async () => {
    let draining = false;
    const readiness = createReadiness([up('store')], () => draining);
    draining = true;
    expect(await readiness()).toEqual({ ready: false, checks: { draining: 'draining', store: 'ok' } });
  });
});
