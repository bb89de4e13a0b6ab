import { describe, expect, it } from 'vitest';
import { FloodCooldown } from '../../../../src/transport/handshake/flood-cooldown.ts';

describe('FloodCooldown', () => {
  it('holds a cut user off for the cooldown, then lets it in, and forgets the oldest past its bound', () => {
    let now = 0;
    const cooldown = new FloodCooldown(10_000, () => now, 2);
    cooldown.cut('flooder');
    expect(cooldown.remainingMs('flooder')).toBe(10_000);
    expect(cooldown.remainingMs('bystander')).toBe(0);
    now = 9_999;
    expect(cooldown.remainingMs('flooder')).toBe(1);
    now = 10_000;
    expect(cooldown.remainingMs('flooder')).toBe(0);
    cooldown.cut('a');
    cooldown.cut('b');
    cooldown.cut('c'); // forgets 'a'
    expect(cooldown.remainingMs('a')).toBe(0);
    expect(cooldown.remainingMs('c')).toBe(10_000);
  });
});
