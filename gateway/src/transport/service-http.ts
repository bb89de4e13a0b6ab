/**
 * The HTTP edge every service route shares (`/v1/publish`, `/v1/events/...`), in the order a request meets
 * it, so that what an anonymous client can make a node do is bounded before any work:
 *
 * 1. `requireServiceToken`: SERVICE_TOKEN from the `Authorization` header, before a byte of the body is
 *    read. A refusal (401 AUTH_INVALID, or 403 FORBIDDEN when the API is off) is sent at once with
 *    `Connection: close`: the node does not read, buffer or parse the rest of a body it will never use
 *    (three 4 MB deeply nested bodies once cost everyone on the node about 2 s of JSON.parse).
 * 2. `jsonBody(limitBytes)`: identity-encoded UTF-8 JSON only (415 MESSAGE_ENCODING_UNSUPPORTED
 *    otherwise: no inflating, no transcoding), at most `limitBytes` (413 MESSAGE_TOO_LARGE), well-formed
 *    (400 BAD_REQUEST). Each route passes the limit its own body needs.
 * 3. `serviceErrorHandler`: whatever failed, the wire shape `{ ok: false, error: { code, message,
 *    retryable } }` with the code's one HTTP status (HTTP_STATUS). A client's mistake is logged at debug,
 *    without a stack; only what is unexpected becomes INTERNAL, logged at error with its cause.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import { wireError, type ErrorCode, type WireError } from '@stayline/client-sdk/protocol';
import { createLogSampler } from '../infra/log-sampler.ts';
import type { Logger } from '../infra/logger.ts';
import { edgeError } from './request-edge.ts';

/**
 * The HTTP status of every wire code, in one table: a code is answered with the same status on every
 * route (docs/errors.md#http-statuses lists them, and a test compares the two).
 */
export const HTTP_STATUS = {
  AUTH_MISSING: 401,
  AUTH_INVALID: 401,
  AUTH_EXPIRED: 401,
  AUTH_SUBJECT_MISMATCH: 403,
  AUTH_REVOKED: 401,
  SERVER_DRAINING: 503,
  STORE_UNAVAILABLE: 503,
  RATE_LIMITED: 429,
  RATE_FLOODED: 429,
  CONNECTION_LIMIT: 429,
  ORIGIN_FORBIDDEN: 403,
  BAD_REQUEST: 400,
  MESSAGE_TOO_LARGE: 413,
  MESSAGE_ENCODING_UNSUPPORTED: 415,
  UNKNOWN_EVENT: 400,
  ACK_REQUIRED: 400,
  ROOM_LIMIT: 409,
  FORBIDDEN: 403,
  SLOW_CONSUMER: 503,
  SESSION_KICKED: 409,
  SEAT_UNAVAILABLE: 409,
  SEAT_UNKNOWN: 404,
  SEAT_LIMIT: 409,
  ADMISSION_REQUIRED: 403,
  EVENT_UNKNOWN: 404,
  FENCE_STALE: 409,
  INTERNAL: 500,
} as const satisfies Record<ErrorCode, number>;

/** Answers `error` in the wire shape with its code's status. */
export function sendWireError(res: Response, error: WireError): void {
  res.status(HTTP_STATUS[error.code]).json({ ok: false, error });
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
/** How long a refused service call waits for its answer (see requireServiceToken). */
const REFUSAL_DELAY_MS = 250;
/** As before this edge existed: the scheme case-insensitive, the rest of the header the token. */
const BEARER = /^Bearer\s+(.+)$/i;

/**
 * Admits only requests with `Authorization: Bearer <SERVICE_TOKEN>` (compared in constant time, hashed
 * first so lengths match), looking at nothing but the header. Mount it before any body parser.
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

/** `charset=` of a Content-Type header, lower-cased, unquoted; undefined when absent. */
function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType ?? '');
  return match === null ? undefined : (match[1] ?? match[2] ?? '').toLowerCase();
}

/**
 * Why the body's encoding is refused, or undefined when it is identity-encoded UTF-8. Compressed bodies
 * are refused rather than inflated (a small gzip body can inflate to the whole limit and more CPU than its
 * size suggests), and only UTF-8 is read (RFC 8259 §8.1: JSON between systems is UTF-8).
 */
function unsupportedEncoding(req: Request): string | undefined {
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity')
    return 'Content-Encoding is not supported: send the body uncompressed.';
  const charset = charsetOf(req.headers['content-type']);
  if (charset !== undefined && charset !== 'utf-8')
    return 'Only UTF-8 JSON is accepted: send charset=utf-8 or no charset.';
  return undefined;
}

/**
 * Reads a JSON body of at most `limitBytes` into `req.body` (after requireServiceToken). Refuses a
 * compressed or non-UTF-8 body with 415 before reading it.
 */
export function jsonBody(limitBytes: number): RequestHandler[] {
  const checkEncoding: RequestHandler = (req, _res, next) => {
    const why = unsupportedEncoding(req);
    if (why === undefined) return next();
    next(Object.assign(new Error(why), { status: 415, expose: true, type: 'stayline.encoding' }));
  };
  // inflate: false makes body-parser itself refuse any encoding but identity (415) should one get past.
  return [checkEncoding, express.json({ limit: limitBytes, inflate: false, strict: true })];
}

interface HttpLikeError {
  status?: unknown;
  statusCode?: unknown;
  type?: unknown;
  message?: unknown;
}

/** The client's mistake behind a body-parser (or jsonBody) error, or undefined when it is not one. */
function clientBodyError(err: unknown): WireError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as HttpLikeError;
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  if (status === 413) return wireError('MESSAGE_TOO_LARGE', 'The body is larger than this route accepts.');
  if (status === 415) {
    const message = e.type === 'stayline.encoding' && typeof e.message === 'string' ? e.message : undefined;
    return wireError('MESSAGE_ENCODING_UNSUPPORTED', message);
  }
  // entity.parse.failed, request.aborted, request.size.invalid...: never the parser's text (it quotes the body).
  return wireError('BAD_REQUEST', 'The body is not well-formed JSON.');
}

/**
 * The last handler of the service routes: every failure answered in the wire shape. Body errors are the
 * client's (debug, no stack); anything else is INTERNAL, logged with its cause by edgeError.
 */
export function serviceErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req: Request, res: Response, next: NextFunction) => {
    // Too late for an answer of our own: express closes the connection.
    if (res.headersSent) return next(err);
    const client = clientBodyError(err);
    if (client !== undefined) {
      log.debug({ code: client.code, method: req.method, path: req.path }, 'service request body refused');
      return sendWireError(res, client);
    }
    sendWireError(res, edgeError(err, log, { method: req.method, path: req.path }));
  };
}
