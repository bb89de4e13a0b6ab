/**
 * Flood: one authenticated flooder per node emits `room:join` requests (with ack ids) as fast as its socket
 * takes them, never waiting for an ack — paced only by its own send buffer (at most 1 MiB queued). The
 * acks that come back are counted by code. A disconnected flooder reconnects after 250 ms and goes on.
 * Counted: `sent`, `answer:<code>`, `connected`, `refused:<code>`, `connect-failed:<kind>`,
 * `disconnected:<reason>`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { LeanClient } from '../lean-client.ts';
import { ackCode, connectAttacker, nowEpoch, pause, type AttackParams, type Tally } from './common.ts';

const MAX_QUEUED_BYTES = 1 << 20;
const BURST = 500;

export async function flood(p: AttackParams, until: number, tally: Tally): Promise<void> {
  const tokens = p.flood.tokens;
  tally.add('flooders', tokens.length);

  const flooder = async (k: number): Promise<void> => {
    const url = p.urls[k % p.urls.length] ?? '';
    const token = tokens[k] ?? '';
    while (nowEpoch() < until) {
      const client = new LeanClient({
        url,
        token,
        retryableConnectErrors: true,
        onAck: (_id, value) => tally.add(`answer:${ackCode(value)}`),
      });
      if (await connectAttacker(client, tally, until)) {
        while (client.open && nowEpoch() < until) {
          let sent = 0;
          while (sent < BURST && client.bufferedAmount < MAX_QUEUED_BYTES) {
            if (!client.emit('room:join', { room: 'abuse-flood' })) break;
            sent++;
          }
          tally.add('sent', sent);
          // Let acks and closes in; when the socket is full, wait for it rather than spin.
          if (sent < BURST) await pause(1);
          else await nextTurn();
        }
        if (nowEpoch() < until) tally.add(`disconnected:${client.endReason ?? 'transport close'}`);
      }
      client.drop();
      if (nowEpoch() < until) await pause(Math.min(250, until - nowEpoch()));
    }
  };
  await Promise.all(tokens.map((_, k) => flooder(k)));
}
