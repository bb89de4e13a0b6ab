import { describe, expect, it } from 'vitest';
import { atEndOfTurn } from '../../../src/infra/end-of-turn.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('atEndOfTurn', () => {
  it('runs every gather callback before any write callback, those added while it runs in the same pass', async () => {
    const ran: string[] = [];
    let laterImmediate = false;
    atEndOfTurn('write', () => ran.push('write 1'));
    atEndOfTurn('gather', () => {
      ran.push('gather 1');
      // A batch flushed here issues commands whose connection must still be written in this pass.
      atEndOfTurn('write', () =>
        ran.push(`write 2 (a setImmediate scheduled meanwhile has run: ${laterImmediate})`),
      );
      atEndOfTurn('gather', () => ran.push('gather 2'));
      setImmediate(() => (laterImmediate = true));
    });
    expect(ran).toEqual([]);
    await nextTurn();
    expect(ran).toEqual([
      'gather 1',
      'gather 2',
      'write 1',
      'write 2 (a setImmediate scheduled meanwhile has run: false)',
    ]);
  });

  it('keeps running in later turns', async () => {
    const ran: number[] = [];
    for (const n of [1, 2, 3]) {
      atEndOfTurn('gather', () => ran.push(n));
      await nextTurn();
    }
    expect(ran).toEqual([1, 2, 3]);
  });
});
