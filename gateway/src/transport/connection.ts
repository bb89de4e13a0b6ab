/**
 * What happens to each connected socket, from `connection` to `disconnect`: the rooms it joins, its guards
 * (floods end in a disconnect), its token's expiry, its requests (every feature's, dispatched by one
 * middleware into the one request pipeline), its restore (session/restore.ts with every feature's hook),
 * and its detach.
 *
 * Built for many idle connections: everything that can be is made once per node (the request table, the
 * `auth:refresh` request and its schema, the guards' callbacks, one deadline heap for every token expiry,
 * shared listeners that find their socket through `this`); what a socket keeps is its state, a request
 * source whose logger is made on first use, one middleware (the inbound guard, which hands requests to the
 * dispatch) and two listeners of the outbound guard
 * (docs/benchmarks.md §11 measured what each used to cost).
 * Imports features/ (the requests), session/, auth/, metrics/, infra/ and the protocol, like the rest of
 * transport/.
 */
import { SERVER_EVENTS } from '@stayline/client-sdk/protocol';
import type { TokenVerifier } from '../auth/index.ts';
import type { GatewayConfig } from '../config/index.ts';
import type { AnyFeatureRequest, Feature } from '../features/feature.ts';
import type { SampledLog } from '../infra/log-sampler.ts';
import type { Logger } from '../infra/logger.ts';
import type { ClaimMetrics } from '../metrics/claim-metrics.ts';
import type { GatewayMetrics } from '../metrics/gateway-metrics.ts';
import type { HistoryMetrics } from '../metrics/history-metrics.ts';
import type { RequestLedger } from '../session/request-ledger.ts';
import type { Restorer, RestoringSocket } from '../session/restore.ts';
import type { SessionStore } from '../session/session-store.ts';
import { startAuthLifecycle, type AuthLifecycle, type AuthLifecycleOptions } from './auth-lifecycle.ts';
import { authRefreshRequest, type RenewableSource } from './auth-refresh.ts';
import { refusedAsBinary } from './binary-guard.ts';
import { Deadlines } from './deadlines.ts';
import { clientFields } from './engine/client-ip.ts';
import { pauseReading, stopReading } from './engine/ws-engine.ts';
import type { FloodCooldown } from './handshake/flood-cooldown.ts';
import type { HistoryTransport } from './history/history-transport.ts';
import { holdStreams, streamRooms } from './history/replay.ts';
import type { LocalPresence } from './local-presence.ts';
import { createRequestPipeline, type PipelineRequest } from './requests/request-pipeline.ts';
import type { Inflight } from './requests/inflight.ts';
import { forceClose, guardInbound, guardOutbound, type InboundGuardDeps } from './socket-guards.ts';
import { clientRoom, type GatewaySocket } from './socket-types.ts';

const SERVER_EVENT_NAMES: ReadonlySet<string> = new Set(SERVER_EVENTS);

/** How long a flooder's requests accepted before the flood may delay its disconnect, to be answered. */
const FLOOD_ACK_GRACE_MS = 1_000;
/** How long a flooder's disconnect may wait for its last packets to be written before the cut is forced. */
const FLOOD_CLOSE_GRACE_MS = 1_000;

export interface ConnectionDeps {
  config: GatewayConfig;
  verifier: TokenVerifier;
  store: Pick<SessionStore, 'isRevoked'>;
  metrics: GatewayMetrics;
  log: Logger;
  sampled: SampledLog;
  restorer: Pick<Restorer, 'restore'>;
  features: readonly Feature[];
  ledger: RequestLedger;
  requestReplays: ClaimMetrics['requestReplays'];
  presence: LocalPresence;
  floodCooldown: FloodCooldown;
  /** Ends a socket's record in the store (retried by housekeeping when the store is down). */
  detach(userId: string, socketId: string): void;
  /** Message history's exact delivery on this node; undefined when history is off. */
  history: HistoryTransport | undefined;
  historyMetrics: HistoryMetrics;
}

/** A socket's request source: who asks, its in-flight count, its token lifecycle; a logger on first use. */
class SocketSource implements RenewableSource {
  private socketLog: Logger | undefined;

  constructor(
    private readonly socket: GatewaySocket,
    private readonly nodeLog: Logger,
    readonly userId: string,
    readonly claims: Readonly<Record<string, unknown>>,
    readonly inflight: Inflight,
    readonly lifecycle: AuthLifecycle,
    /** The socket.io rooms joined at connect (user room and client rooms): the streams held for its replay. */
    readonly streams: readonly string[],
  ) {}

  /** Most sockets never log: a pino child (bindings serialized, level methods bound) only when one does. */
  get log(): Logger {
    return (this.socketLog ??= this.nodeLog.child({ socketId: this.socket.id }));
  }
}

/** What a connected socket carries besides SocketData: its request source. */
const sources = new WeakMap<GatewaySocket, SocketSource>();

/** The `connection` handler of the node and what it shares between sockets. */
export function createConnectionHandler(deps: ConnectionDeps): (socket: GatewaySocket) => void {
  const { config, metrics, log, sampled } = deps;
  const deadlines = new Deadlines();
  const lifecycleOptions: AuthLifecycleOptions = {
    warningSeconds: config.auth.expiryWarningSeconds,
    clockToleranceSeconds: config.auth.clockToleranceSeconds,
    onExpired: () => metrics.disconnects.inc({ reason: 'AUTH_EXPIRED' }),
    deadlines,
  };
  const requests = new Map<string, PipelineRequest<SocketSource>>();
  const table: (AnyFeatureRequest | PipelineRequest<SocketSource>)[] = [
    ...deps.features.flatMap((f) => f.requests),
    authRefreshRequest(deps),
  ];
  for (const request of table) requests.set(request.event, request);
  const restoreHooks = deps.features.flatMap((f) => (f.restore ? [f.restore] : []));
  const pipeline = createRequestPipeline<SocketSource>({
    ledger: deps.ledger,
    // A crashed attempt blocks its retries at most this long.
    ledgerOptions: { pendingMs: Math.max(2000, config.store.commandTimeoutMs * 4) },
    metrics,
    replays: deps.requestReplays,
  });
  const limits = { ...config.limits, clockToleranceSeconds: config.auth.clockToleranceSeconds };
  /**
   * Every acknowledged request, of every feature, goes through the one pipeline, handed over by the inbound
   * guard once it has checked the token, size, rate, name and ack (and here, binary frames): no listener
   * per event, nor a middleware of its own, per socket.
   */
  const dispatch = (socket: GatewaySocket, packet: [string, ...unknown[]]): void => {
    if (refusedAsBinary(socket, packet, metrics)) return;
    const request = requests.get(packet[0]);
    const source = sources.get(socket);
    if (request !== undefined && source !== undefined && socket.connected)
      pipeline(source, request, packet[1], packet[2] as (response: unknown) => void);
  };

  const inbound: InboundGuardDeps = {
    metrics,
    onAccepted: dispatch,
    onExpired: (socket) => sources.get(socket)?.lifecycle.expireNow(),
    // Over its rate, a websocket client is not read until its next event is allowed: its backlog waits
    // in kernel buffers instead of being parsed and refused message by message.
    onOverRate: (socket, waitMs) => pauseReading(socket.conn.transport, waitMs),
    onFlooded: (socket, { event, refusals }) => {
      const userId = socket.data.principal.userId;
      metrics.disconnects.inc({ reason: 'RATE_FLOODED' });
      deps.floodCooldown.cut(userId);
      sampled(
        'RATE_FLOODED',
        'warn',
        {
          code: 'RATE_FLOODED',
          userId,
          ...clientFields(socket.request, config.http.trustProxy),
          event,
          refusals,
        },
        'socket went on flooding after RATE_LIMITED; disconnected',
      );
      // The guard reads nothing more from this socket, and the node stops reading its websocket at all
      // (what it keeps sending waits in kernel buffers, costing nothing). Requests it accepted before the
      // flood are still answered (their handlers have started), then it is cut.
      stopReading(socket.conn.transport);
      setImmediate(() => {
        void socket.data.inflight.whenIdle(FLOOD_ACK_GRACE_MS).then(() => {
          if (!socket.connected) return;
          // A server-side disconnect, not a transport close: the stock client does not reconnect by
          // itself ("io server disconnect"), so a runaway loop does not come straight back.
          socket.disconnect(true);
          // The close waits for the last packets (RATE_FLOODED among them) to be written, and a websocket
          // close waits for the peer's close frame, which a socket we no longer read never delivers: the
          // connection is ended for good after a grace period (a no-op when it is already gone).
          setTimeout(() => forceClose(socket), FLOOD_CLOSE_GRACE_MS).unref();
        });
      });
    },
  };
  const slowConsumer = (socket: GatewaySocket): void => {
    metrics.disconnects.inc({ reason: 'SLOW_CONSUMER' });
    sources.get(socket)?.log.warn('outbound buffer over the bound; closing a client that stopped reading');
    forceClose(socket);
  };

  // Shared listeners: socket.io calls them with `this` bound to the socket.
  function countOutgoing(this: GatewaySocket, event: string): void {
    metrics.eventsOut.inc({ event: SERVER_EVENT_NAMES.has(event) ? event : 'app' });
  }
  function onDisconnect(this: GatewaySocket, reason: string): void {
    const userId = this.data.principal.userId;
    sources.get(this)?.lifecycle.stop();
    deps.presence.remove(userId);
    metrics.connections.dec();
    metrics.disconnects.inc({ reason });
    deps.detach(userId, this.id);
    const streams = sources.get(this)?.streams;
    if (streams !== undefined) deps.history?.sequencer.forgetSocket(this.id, streams);
    for (const feature of deps.features) feature.socketGone?.(userId);
  }

  return (socket) => {
    const { principal, session, claims } = socket.data;
    const userId = principal.userId;
    if (session === undefined || claims === undefined) {
      // Cannot happen (the handshake attached it and read its claims just before this socket connected);
      // never serve without them.
      log.error({ socketId: socket.id }, 'a socket connected without an attached session; closing');
      deps.detach(userId, socket.id);
      socket.conn.close();
      return;
    }
    deps.presence.add(userId);
    metrics.connections.inc();

    const streams = streamRooms(userId, session.rooms);
    void socket.join(streams);
    // In the same tick as the join: the socket's streams are held for its replay (history/replay.ts).
    const replay = holdStreams(
      { sequencer: deps.history?.sequencer, metrics: deps.historyMetrics },
      {
        id: socket.id,
        emitApp: (event, data, position) =>
          (socket.emit as unknown as (e: string, d: unknown, p: unknown) => boolean)(event, data, position),
      },
      { userId, rooms: session.rooms, recovered: session.recovered },
      socket.data.positions,
    );
    socket.data.positions = undefined;
    socket.onAnyOutgoing(countOutgoing);
    const lifecycle = startAuthLifecycle(socket, lifecycleOptions);
    const source = new SocketSource(
      socket,
      log,
      userId,
      principal.claims,
      socket.data.inflight,
      lifecycle,
      streams,
    );
    sources.set(socket, source);
    guardInbound(socket, limits, inbound);
    guardOutbound(socket, config.limits.maxOutboundBufferBytes, slowConsumer);
    socket.on('disconnect', onDisconnect);

    const restoring: RestoringSocket = {
      userId,
      join: (rooms) => socket.join(rooms.map(clientRoom)),
      emit: (event, payload) => (socket.emit as (e: string, p: unknown) => boolean)(event, payload),
      replay,
    };
    const pending = { session, startedAt: socket.data.restoreStartedAt, claims };
    deps.restorer.restore(restoring, pending, restoreHooks).then(
      ({ payload, sent }) => {
        socket.emit('session:restored', payload);
        socket.data.session = undefined;
        socket.data.claims = undefined;
        sent();
      },
      (err: unknown) => {
        // Never an empty answer in place of the truth: the client reconnects and tries again.
        source.log.warn({ err }, 'could not restore queues and holds for session:restored; closing');
        socket.conn.close();
      },
    );
  };
}
