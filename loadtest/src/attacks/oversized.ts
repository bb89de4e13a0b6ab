/**
 * Oversized validation: a few authenticated attackers send `seat:hold` with `seatIds` of 16,000 numbers
 * (about 32 KB, under the message size limit, so it reaches validation), each keeping a few requests in
 * flight, as fast as the server answers. A disconnected attacker reconnects after 250 ms and goes on.
 * Counted: `sent`; each request's end as `answer:<code>` (`answer:ok`), `answer:timeout`, `answer:lost`
 * (the connection closed under it) or `unanswered-at-end` (in flight at the deadline), so `sent` equals
 * their sum; `connected`, `refused:<code>`, `connect-failed:<kind>`, `disconnected:<reason>`.
 */
import { LeanClient } from '../lean-client.ts';
import { ackCode, connectAttacker, nowEpoch, pause, type AttackParams, type Tally } from './common.ts';

export async function oversized(p: AttackParams, until: number, tally: Tally): Promise<void> {
  const o = p.oversized;
  // Encoded once: the attack costs the server validation, not the tester JSON.stringify.
  const args = JSON.stringify([
    'seat:hold',
    { eventId: o.eventId, seatIds: Array.from({ length: o.seats }, () => 1) },
  ]);
  tally.add('attackers', o.tokens.length);
  tally.add('payload-bytes', args.length);

  const pump = async (client: LeanClient): Promise<void> => {
    while (client.open && nowEpoch() < until) {
      const left = until - nowEpoch();
      const timeoutMs = Math.max(1, Math.min(p.timeoutMs, left));
      const cutByDeadline = timeoutMs < p.timeoutMs;
      tally.add('sent');
      try {
        const ack = await client.requestEncoded(args, timeoutMs, 'seat:hold');
        if (ack !== undefined) tally.add(`answer:${ackCode(ack)}`);
        else tally.add(nowEpoch() >= until ? 'unanswered-at-end' : 'answer:lost');
      } catch (err) {
        const notConnected = err instanceof Error && err.message === 'not connected';
        tally.add(notConnected ? 'answer:lost' : cutByDeadline ? 'unanswered-at-end' : 'answer:timeout');
      }
    }
  };

  const attacker = async (k: number): Promise<void> => {
    const url = p.urls[k % p.urls.length] ?? '';
    const token = o.tokens[k] ?? '';
    while (nowEpoch() < until) {
      const client = new LeanClient({ url, token, retryableConnectErrors: true });
      if (await connectAttacker(client, tally, until)) {
        await Promise.all(Array.from({ length: Math.max(1, o.inflight) }, () => pump(client)));
        if (nowEpoch() < until) tally.add(`disconnected:${client.endReason ?? 'transport close'}`);
      }
      client.drop();
      if (nowEpoch() < until) await pause(Math.min(250, until - nowEpoch()));
    }
  };
  await Promise.all(o.tokens.map((_, k) => attacker(k)));
}
