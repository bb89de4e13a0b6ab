/**
 * The user-state reads of restores (user-claims.ts), gathered per event over one turn of the event loop
 * and sent as one user-states.lua call per event. In an on-sale herd every reconnecting user is in the same
 * event, and a node restores tens to hundreds of them per turn: one script call per user cost the node a
 * command (ioredis builds, writes and parses each) and Redis a script run with twelve keys, per restore.
 * No latency is added: the calls are made at the end of the turn, and leave in the write that sends the
 * turn's other commands (infra/end-of-turn.ts).
 */
import type { EventId, UserId } from '@stayline/client-sdk/protocol';
import { TurnBatches } from '../../infra/turn-batches.ts';
import { decodeUserStates, type UserEventState } from './claim-replies.ts';

/**
 * Users per user-states.lua call: each costs Redis a ZRANK, an HGET with its msgpack decode and a ZSCORE
 * (a few µs), so one call holds Redis well under a millisecond.
 */
export const USERS_PER_STATE_READ = 200;

interface Waiter {
  userId: UserId;
  resolve: (state: UserEventState) => void;
  reject: (err: unknown) => void;
}

/** Reads users' states in one event (user-states.lua through the store's scripts), raw reply. */
export type ReadUserStates = (eventId: EventId, userIds: readonly UserId[]) => Promise<unknown>;

export class UserStateReads {
  private readonly batches: TurnBatches<EventId, Waiter>;

  constructor(
    private readonly read: ReadUserStates,
    usersPerCall: number = USERS_PER_STATE_READ,
  ) {
    this.batches = new TurnBatches((eventId, waiters) => this.send(eventId, waiters), usersPerCall);
  }

  /** The user's state in the event, read with the other reads of this turn. Rejects as the call does. */
  get(eventId: EventId, userId: UserId): Promise<UserEventState> {
    return new Promise((resolve, reject) => this.batches.add(eventId, { userId, resolve, reject }));
  }

  private send(eventId: EventId, waiters: readonly Waiter[]): void {
    const userIds = waiters.map((w) => w.userId);
    this.read(eventId, userIds).then(
      (reply) => {
        let states: UserEventState[];
        try {
          states = decodeUserStates(eventId, userIds, reply);
        } catch (err) {
          for (const w of waiters) w.reject(err);
          return;
        }
        waiters.forEach((w, i) => w.resolve(states[i]!));
      },
      (err: unknown) => {
        for (const w of waiters) w.reject(err);
      },
    );
  }
}
