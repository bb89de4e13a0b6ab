/**
 * Unauthenticated bodies: a few concurrent streams, each sending one request after another — a deeply
 * nested JSON body (`[[[[...]]]]`, 4 MB by default) with no service token — to the service API paths that
 * take JSON (`POST /v1/publish`, `PUT /v1/events/x`, `POST /v1/events/x/admit` by default), over a new
 * connection each. A request ends at the first answer (the rest of the body is not sent), an error, its
 * timeout, or the deadline.
 * Counted: `requests`; each request's end as `status:<code>`, `error:<kind>` or `cut-at-end`, so
 * `requests` equals their sum; `answered-before-body-sent` (the server answered before taking the whole body).
 */
import { request } from 'node:http';
import { failureKind, nowEpoch, type AttackParams, type Tally } from './common.ts';

/** `[` × n then `]` × n: the deepest JSON per byte. */
export function nestedJson(bytes: number): Buffer {
  const depth = Math.max(1, Math.floor(bytes / 2));
  return Buffer.from('['.repeat(depth) + ']'.repeat(depth));
}

export async function bodies(p: AttackParams, until: number, tally: Tally): Promise<void> {
  const b = p.bodies;
  const body = nestedJson(b.bytes);
  tally.add('streams', b.streams);

  const once = (base: string, target: { method: string; path: string }): Promise<void> =>
    new Promise((resolve) => {
      tally.add('requests');
      const url = new URL(base);
      const left = until - nowEpoch();
      const cutByDeadline = left < p.timeoutMs;
      let settled = false;
      let bodySent = false;
      const req = request({
        host: url.hostname,
        port: url.port,
        method: target.method,
        path: target.path,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      });
      const end = (key: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        tally.add(key);
        req.destroy();
        resolve();
      };
      const timer = setTimeout(
        () => end(cutByDeadline ? 'cut-at-end' : 'error:TIMEOUT'),
        Math.max(1, Math.min(p.timeoutMs, left)),
      );
      req.on('response', (res) => {
        if (!bodySent) tally.add('answered-before-body-sent');
        res.resume();
        end(`status:${res.statusCode ?? 0}`);
      });
      req.on('error', (err) => end(`error:${failureKind(err)}`));
      req.end(body, () => (bodySent = true));
    });

  await Promise.all(
    Array.from({ length: b.streams }, async (_, s) => {
      for (let i = 0; nowEpoch() < until; i++) {
        const base = p.urls[(s + i) % p.urls.length] ?? '';
        const target = b.targets[(s + i) % b.targets.length];
        if (!target) return;
        await once(base, target);
      }
    }),
  );
}
