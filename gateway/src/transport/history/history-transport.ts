/**
 * transport/history/ owns how messages with history travel and are replayed (docs/protocol.md "Offsets,
 * epochs and gaps"): this file wires the node's sequencer (stream-sequencer.ts) to socket.io — a publish is
 * appended to history, delivered here through the sequencer and reaches the other nodes either published
 * by the append script itself on the history channel (classic Pub/Sub) or with
 * `serverSideEmit('history:message')` (Redis Cluster), and their sequencers deliver it to their own sockets
 * with `io.local` — and replay.ts plans each restoring socket's replay. It may import session (the history
 * store), metrics, infra, errors and the protocol.
 */
import type { MessagePosition, StreamPosition, StreamName } from '@stayline/client-sdk/protocol';
import type { Logger } from '../../infra/logger.ts';
import type { HistoryMetrics } from '../../metrics/history-metrics.ts';
import type { HistoryStore } from '../../session/history-store.ts';
import type { GatewayServer } from '../socket-types.ts';
import { StreamSequencer, streamOf, type SequencedMessage } from './stream-sequencer.ts';

export interface HistoryTransportDeps {
  store: HistoryStore;
  metrics: HistoryMetrics;
  log: Logger;
  /** True when an adapter connects this node to others (serverSideEmit then reaches them). */
  clustered: boolean;
  /** This node's id: its own messages on the history channel are skipped (it delivered them itself). */
  nodeId: string;
  /**
   * The history channel, when the Redis store publishes each message with its append (classic Pub/Sub:
   * one hop less to the other nodes) and the node listens there; undefined: `serverSideEmit` (Redis
   * Cluster, whose sharded channels live in other slots than the streams, or the memory store).
   */
  channel: { name: string; listen(channel: string, onMessage: (message: Buffer) => void): void } | undefined;
}

/** A node's message history on socket.io. */
export interface HistoryTransport {
  readonly sequencer: StreamSequencer;
  /**
   * Appends to the socket.io room's stream, then delivers on every node; resolves with the message's
   * position. Rejects (nothing delivered) when the history store cannot append.
   */
  publish(room: string, event: string, data: unknown): Promise<MessagePosition>;
  /** The stream's current head, once this node has delivered everything up to it. */
  head(room: string): Promise<StreamPosition>;
  /** The adapter's subscriber came back: messages sent meanwhile are read from history. */
  resubscribed(): void;
  close(): void;
}

/** When a resubscribed node reads history a second time. */
const RESUBSCRIBE_RECHECK_MS = 1000;

/** Checks a message from another node (same deployment, but never trusted blindly). */
function isSequencedMessage(value: unknown): value is SequencedMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<Record<keyof SequencedMessage, unknown>>;
  return (
    typeof m.room === 'string' &&
    (m.room.startsWith('r:') || m.room.startsWith('u:')) &&
    typeof m.epoch === 'string' &&
    typeof m.event === 'string' &&
    typeof m.offset === 'number' &&
    Number.isSafeInteger(m.offset) &&
    m.offset > 0
  );
}

export function createHistoryTransport(io: GatewayServer, deps: HistoryTransportDeps): HistoryTransport {
  const adapter = (): GatewayServer['sockets']['adapter'] => io.of('/').adapter;
  const sequencer = new StreamSequencer({
    history: deps.store,
    metrics: deps.metrics,
    log: deps.log,
    hasLocal: (room) => adapter().rooms.has(room),
    emitLocal(room, except, event, data, position) {
      const target = except.length === 0 ? io.local.to(room) : io.local.to(room).except([...except]);
      // App events are the backend's own vocabulary, outside the typed protocol maps.
      (target.emit as unknown as (e: string, d: unknown, p: MessagePosition) => boolean)(
        event,
        data,
        position,
      );
    },
  });
  const fromOtherNode = (message: unknown): void => {
    if (isSequencedMessage(message)) sequencer.receive(message);
    else deps.log.warn('dropped a malformed history message from another node');
  };
  io.on('history:message', fromOtherNode);
  deps.channel?.listen(deps.channel.name, (raw) => {
    let message: unknown;
    try {
      message = JSON.parse(raw.toString('utf8'));
    } catch {
      return fromOtherNode(undefined);
    }
    if ((message as { node?: unknown } | null)?.node !== deps.nodeId) fromOtherNode(message);
  });
  const broadcast = (room: string) =>
    deps.channel === undefined ? undefined : { channel: deps.channel.name, room, node: deps.nodeId };
  adapter().on('delete-room', (room: unknown) => {
    if (typeof room === 'string') sequencer.roomGone(room);
  });

  return {
    sequencer,
    async publish(room, event, data) {
      let position: StreamPosition;
      try {
        position = await deps.store.append(streamOf(room).ref, event, data, broadcast(room));
        deps.metrics.appends.inc({ result: 'ok' });
      } catch (err) {
        deps.metrics.appends.inc({ result: 'error' });
        throw err;
      }
      const message: SequencedMessage = { room, epoch: position.epoch, offset: position.offset, event, data };
      sequencer.receive(message);
      if (deps.clustered && deps.channel === undefined) io.serverSideEmit('history:message', message);
      const stream: StreamName = streamOf(room).wire;
      return { stream, ...position };
    },
    async head(room) {
      const read = await sequencer.read(room, undefined);
      return { epoch: read.epoch, offset: read.last };
    },
    resubscribed() {
      // At once, and again once the subscriptions surely answered (ioredis subscribes again on `ready`; a
      // message published between the first read and the SUBSCRIBE would otherwise wait for the next one).
      sequencer.catchUpAll();
      setTimeout(() => sequencer.catchUpAll(), RESUBSCRIBE_RECHECK_MS).unref();
    },
    close: () => sequencer.close(),
  };
}
