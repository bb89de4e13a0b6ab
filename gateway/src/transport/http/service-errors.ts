/**
 * How the service API answers a failure: always the wire shape `{ ok: false, error: { code, message,
 * retryable } }` with the code's one HTTP status (HTTP_STATUS, errors/http-status.ts). A client's mistake
 * (a refused, oversized or malformed body) is logged at debug, without a stack; only what is unexpected
 * becomes INTERNAL, logged at error with its cause (request-edge.ts).
 */
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { wireError, type WireError } from '@stayline/client-sdk/protocol';
import { HTTP_STATUS } from '../../errors/http-status.ts';
import type { Logger } from '../../infra/logger.ts';
import { edgeError } from '../requests/request-edge.ts';
import { ENCODING_REFUSED } from './service-body.ts';

/** Answers `error` in the wire shape with its code's status. */
export function sendWireError(res: Response, error: WireError): void {
  res.status(HTTP_STATUS[error.code]).json({ ok: false, error });
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
  // body-parser's own statuses (read here, not answered: the answer's status comes from HTTP_STATUS).
  if (status === 413) return wireError('MESSAGE_TOO_LARGE', 'The body is larger than this route accepts.');
  if (status === 415) {
    const message = e.type === ENCODING_REFUSED && typeof e.message === 'string' ? e.message : undefined;
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
