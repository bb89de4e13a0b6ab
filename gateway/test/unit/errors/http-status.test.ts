import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, ERROR_CODES } from '@stayline/client-sdk/protocol';
import { HTTP_STATUS } from '../../../src/errors/http-status.ts';

describe('HTTP_STATUS', () => {
  it('gives every code of the catalogue an HTTP error status, and nothing else', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual([...ERROR_CODES].sort());
    for (const status of Object.values(HTTP_STATUS)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('agrees with every status a catalogue summary names', () => {
    const named = ERROR_CODES.flatMap((code) => {
      const status = /\(HTTP (\d{3})\)/.exec(ERROR_CATALOGUE[code].summary)?.[1];
      return status === undefined ? [] : [[code, Number(status)] as const];
    });
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(([code, status]) => HTTP_STATUS[code] !== status)).toEqual([]);
  });
});
