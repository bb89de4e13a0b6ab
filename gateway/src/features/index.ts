/**
 * Builds this node's features from the configuration: rooms, queue and seats, on one delivery. The only
 * place that knows all of them (the features themselves never import each other: the seats feature gets the
 * queue's admission check as a function from here).
 */
import type { GatewayConfig } from '../config/index.ts';
import { countAndLogFailedRound } from '../infra/periodic.ts';
import type { Logger } from '../infra/logger.ts';
import type { ClaimMetrics } from '../metrics/claim-metrics.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { ClaimStore } from '../session/claim-store.ts';
import type { SessionStore } from '../session/session-store.ts';
import type { Delivery, Feature } from './feature.ts';
import { admissionKey, createAdmissionTokens, createQueueFeature, type QueueFeature } from './queue/index.ts';
import { createRoomPolicy, createRoomsFeature } from './rooms/index.ts';
import { createSeatsFeature, type SeatsFeature } from './seats/index.ts';

export type { Delivery, Feature } from './feature.ts';
export type { QueueFeature } from './queue/index.ts';
export type { SeatsFeature } from './seats/index.ts';

export interface NodeFeatures {
  queue: QueueFeature;
  seats: SeatsFeature;
  /** Every feature, in the order their requests are registered and their restore hooks run. */
  all: readonly Feature[];
}

export function createFeatures(
  config: GatewayConfig,
  deps: {
    sessions: SessionStore;
    claims: ClaimStore;
    delivery: Delivery;
    metrics: Pick<GatewayMetrics, 'storeErrors'>;
    claimMetrics: ClaimMetrics;
    log: Logger;
  },
): NodeFeatures {
  const { delivery, claimMetrics, log } = deps;
  // A failed background round is counted (and logged unless the store was just down); the loop goes on.
  const loopFailed = countAndLogFailedRound(
    log,
    (operation) => deps.metrics.storeErrors.inc({ operation }),
    'claims round failed',
  );
  if (config.claims.admissionSecret === undefined && config.auth.secret === undefined)
    log.warn('no ADMISSION_SECRET and no JWT_SECRET: admission tokens are valid on this node only');
  const tokens = createAdmissionTokens(admissionKey(config.claims.admissionSecret, config.auth.secret));
  const rooms = createRoomsFeature({
    store: deps.sessions,
    policy: createRoomPolicy(config.rooms.patterns),
    maxRoomsPerUser: config.rooms.maxPerUser,
    delivery,
  });
  const queue = createQueueFeature({
    store: deps.claims,
    tokens,
    delivery,
    metrics: claimMetrics,
    queuePushIntervalMs: config.claims.queuePushIntervalMs,
    admitIntervalMs: Math.min(250, config.claims.sweepIntervalMs),
    loopFailed,
  });
  const seats = createSeatsFeature({
    store: deps.claims,
    delivery,
    metrics: claimMetrics,
    admits: (token, eventId, userId) => tokens.verify(token, eventId, userId),
    holdSeconds: config.claims.holdSeconds,
    maxOutboundBufferBytes: config.limits.maxOutboundBufferBytes,
    seatUpdateIntervalMs: config.claims.seatUpdateIntervalMs,
    sweepIntervalMs: config.claims.sweepIntervalMs,
    loopFailed,
  });
  return { queue, seats, all: [rooms, queue, seats] };
}
