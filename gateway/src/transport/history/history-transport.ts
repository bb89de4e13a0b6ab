/**
 * transport/history/ owns how messages with history travel and are replayed (docs/protocol.md "Offsets,
 * epochs and gaps"): this file wires the node's sequencer (stream-sequencer.ts) to socket.io — a publish is
 * appended to history, delivered here through the sequencer and sent to the other nodes with
 * `serverSideEmit('history:message')`, whose sequencers deliver it to their own sockets with
 * `io.local` — and replay.ts plans each restoring socket's replay. It may import session (the history
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
  io.on('history:message', (message: unknown) => {
    if (isSequencedMessage(message)) sequencer.receive(message);
    else deps.log.warn('dropped a malformed history message from another node');
  });
  adapter().on('delete-room', (room: unknown) => {
    if (typeof room === 'string') sequencer.roomGone(room);
  });

  return {
    sequencer,
    async publish(room, event, data) {
      let position: StreamPosition;
      try {
        position = await deps.store.append(streamOf(room).ref, event, data);
        deps.metrics.appends.inc({ result: 'ok' });
      } catch (err) {
        deps.metrics.appends.inc({ result: 'error' });
        throw err;
      }
      const message: SequencedMessage = { room, epoch: position.epoch, offset: position.offset, event, data };
      sequencer.receive(message);
      if (deps.clustered) io.serverSideEmit('history:message', message);
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
