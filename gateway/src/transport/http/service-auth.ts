/**
 * The one authentication of the service API (every `/v1/...` route, mounted by service-router.ts): SERVICE_TOKEN
 * as a bearer token, checked from the `Authorization` header before a byte of the body (or the path's ids) is
 * read. A refusal (401 AUTH_INVALID, or 403 FORBIDDEN when the API is off) is sent with `Connection: close`
 * after a short tarpit, the socket paused: the node does not read, buffer or parse the rest of a body it will
 * never use (three 4 MB deeply nested bodies once cost everyone on the node about 2 s of JSON.parse).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { wireError, type WireError } from '@stayline/client-sdk/protocol';
import { createLogSampler } from '../../infra/log-sampler.ts';
import type { Logger } from '../../infra/logger.ts';
import { sendWireError } from './service-errors.ts';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
/** How long a refused service call waits for its answer (see requireServiceToken). */
const REFUSAL_DELAY_MS = 250;
/** As before this edge existed: the scheme case-insensitive, the rest of the header the token. */
const BEARER = /^Bearer\s+(.+)$/i;

/**
 * Admits only requests with `Authorization: Bearer <SERVICE_TOKEN>` (compared in constant time, hashed
 * first so lengths match), looking at nothing but the header. Mount it before any body parser. Build it
 * once per node: its log sampler is what keeps an anonymous flood from becoming a log flood.
 */
export function requireServiceToken(serviceToken: string | undefined, log: Logger): RequestHandler {
  const expected = serviceToken === undefined ? undefined : digest(serviceToken);
  // An operator must see refused service calls, but an anonymous flood must not become a log flood.
  const sampled = createLogSampler(log);
  const refuse = (req: Request, res: Response, error: WireError, reason: string): void => {
    sampled(
      error.code,
      'info',
      { reason, method: req.method, path: req.path, ip: req.ip },
      'service call refused',
    );
    // Answer now, unread body and all: Node then closes the connection instead of reading the rest of
    // the body to keep it alive (https://nodejs.org/api/http.html, `response.end` with `Connection: close`).
    // The socket is not read any more either: what the client still sends stays in kernel buffers until
    // its window closes (reading and discarding 4 MB bodies at hundreds per second was most of what an
    // anonymous client could make the node do), and the connection is ended a second after the answer.
    req.socket.pause();
    res.once('finish', () => setTimeout(() => req.socket.destroy(), 1000).unref());
    res.setHeader('Connection', 'close');
    // A refusal is answered after REFUSAL_DELAY_MS (a tarpit): a misconfigured backend still gets its 401
    // at once in human terms, but a client hammering the API without credentials gets a few attempts per
    // second per connection instead of a thousand, each costing the node an accept and a parse.
    setTimeout(() => sendWireError(res, error), REFUSAL_DELAY_MS).unref();
  };
  return (req, res, next) => {
    if (expected === undefined)
      return refuse(req, res, wireError('FORBIDDEN', 'The service API is off: set SERVICE_TOKEN.'), 'off');
    const token = BEARER.exec(req.headers.authorization ?? '')?.[1];
    if (token === undefined || !timingSafeEqual(digest(token), expected)) {
      const reason = token === undefined ? 'missing' : 'wrong';
      return refuse(req, res, wireError('AUTH_INVALID', 'A valid service token is required.'), reason);
    }
    next();
  };
}
