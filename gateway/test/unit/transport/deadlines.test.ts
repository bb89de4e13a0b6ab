import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deadlines, type Deadline } from '../../../src/transport/deadlines.ts';

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** An entry that records when it fired, by name. */
function entry(name: string, fired: string[]): Deadline {
  return {
    deadlineAt: 0,
    deadlineSlot: -1,
    fire: () => fired.push(`${name}@${Date.now() - NOW}`),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Deadlines', () => {
  it('fires many entries in time order, each at its own time, with one timer pending', () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    // Scheduled out of order, with ties.
    const at = [50, 10, 30, 10, 40, 20, 60, 5];
    at.forEach((ms, i) => deadlines.schedule(entry(`e${i}`, fired), NOW + ms));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9);
    expect(fired).toEqual(['e7@5']);
    vi.advanceTimersByTime(100);
    expect(fired.map((f) => Number(f.split('@')[1]))).toEqual([5, 10, 10, 20, 30, 40, 50, 60]);
    expect(deadlines.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never fires a cancelled entry, keeps the others, and clears its timer once nothing is left', () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    const entries = Array.from({ length: 200 }, (_, i) => entry(`e${i}`, fired));
    entries.forEach((e, i) => deadlines.schedule(e, NOW + 1000 + ((i * 37) % 200)));
    // Cancel every even one, in a scattered order (removals from the middle of the heap).
    for (let i = 0; i < 200; i += 2) deadlines.cancel(entries[(i * 7) % 200] as Deadline);
    deadlines.cancel(entries[0] as Deadline); // twice: a no-op
    expect(deadlines.size).toBe(100);
    vi.advanceTimersByTime(2000);
    expect(fired).toHaveLength(100);
    expect(fired.every((f) => Number(f.split('@')[0]?.slice(1)) % 2 === 1)).toBe(true);
    const times = fired.map((f) => Number(f.split('@')[1]));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(vi.getTimerCount()).toBe(0);

    const last = entry('last', fired);
    deadlines.schedule(last, NOW + 3000);
    deadlines.cancel(last);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('moves an entry scheduled again, and lets an entry schedule itself again from fire()', () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    const moved = entry('moved', fired);
    deadlines.schedule(moved, NOW + 100);
    deadlines.schedule(moved, NOW + 300);
    let rounds = 0;
    const again: Deadline = {
      deadlineAt: 0,
      deadlineSlot: -1,
      fire: () => {
        fired.push(`again@${Date.now() - NOW}`);
        if (++rounds < 3) deadlines.schedule(again, Date.now() + 50);
      },
    };
    deadlines.schedule(again, NOW + 200);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['again@200', 'again@250', 'moved@300', 'again@300']);
  });

  it('does not fire early for a deadline beyond what one setTimeout can hold', () => {
    const deadlines = new Deadlines();
    const fired: string[] = [];
    const DAY = 24 * 3600 * 1000;
    deadlines.schedule(entry('far', fired), NOW + 40 * DAY);
    vi.advanceTimersByTime(39 * DAY);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(DAY);
    expect(fired).toEqual([`far@${40 * DAY}`]);
  });
});
