/**
 * The users service routes, for backends (mounted by service-router.ts; SERVICE_TOKEN checked on the
 * `/v1/users` prefix, before anything else of the request is read, the path's user id included):
 * - `POST /v1/users/:userId/disconnect` with an optional body `{ "revoke": true }` (JSON, at most 1 KB)
 *   closes every socket of the user on every node, each told `session:ended { code }` first; with `revoke`
 *   it first refuses every token of the user issued at or before now (`AUTH_REVOKED`). Answers 200
 *   `{ disconnected, complete: true, revoked, revokedAt? }` when every node answered, 202 with
 *   `complete: false` and the sockets counted so far when some did not.
 * Answers are `{ ok: true, data }` or `{ ok: false, error }` with the wire error shape.
 */
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { z } from 'zod';
import { MAX_SUBJECT_LENGTH } from '../../auth/index.ts';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Logger } from '../../infra/logger.ts';
import { edgeError } from '../requests/request-edge.ts';
import { sendWireError } from './service-errors.ts';
import type { UserSessions } from '../user-sessions.ts';

/** The largest body accepted: `{ "revoke": true }` is 16 bytes. */
export const USERS_BODY_LIMIT_BYTES = 1024;

const disconnectSchema = z.object({ revoke: z.boolean().optional() }).strict();

/**
 * Adds the users routes to the service router, `authenticated` on their whole prefix. A user id that is not
 * valid percent-encoding is answered here; every other failure goes on to the router's error handler.
 */
export function mountUserRoutes(
  router: Router,
  authenticated: RequestHandler,
  deps: { users: UserSessions; log: Logger },
): void {
  const fail = (res: Response, err: unknown): void => {
    sendWireError(res, edgeError(err, deps.log, { api: 'users' }));
  };

  // Mounted on the prefix, so it runs before the route decodes the user id or the body is read.
  router.use('/v1/users', authenticated);

  router.post(
    '/v1/users/:userId/disconnect',
    // Any content type is read as JSON: a form-encoded `revoke=true` must be refused, not read as "no
    // revocation". No body at all is `{}`, a plain kick.
    express.json({ limit: USERS_BODY_LIMIT_BYTES, type: () => true }),
    (req: Request, res: Response) => {
      const userId = req.params['userId'] ?? '';
      if (userId.length === 0 || userId.length > MAX_SUBJECT_LENGTH) {
        return fail(
          res,
          new GatewayError(
            'BAD_REQUEST',
            `userId: expected 1 to ${MAX_SUBJECT_LENGTH} characters (a token sub).`,
          ),
        );
      }
      const body = disconnectSchema.safeParse(req.body ?? {});
      if (!body.success) {
        return fail(
          res,
          new GatewayError('BAD_REQUEST', 'The body is {} or { "revoke": boolean }, nothing else.'),
        );
      }
      const revoke = body.data.revoke ?? false;
      deps.users.end(userId, { revoke }).then(
        ({ disconnected, complete, revokedAt }) => {
          res.status(complete ? 200 : 202).json({
            ok: true,
            data: {
              disconnected,
              complete,
              revoked: revoke,
              ...(revokedAt === undefined ? {} : { revokedAt }),
            },
          });
        },
        (err: unknown) => fail(res, err),
      );
    },
  );

  // A user id that is not valid percent-encoding is the caller's mistake; body errors (malformed 400,
  // oversized 413, another charset 415) and anything unexpected go on to the router's error handler.
  router.use('/v1/users', (err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof URIError)
      return fail(res, new GatewayError('BAD_REQUEST', 'userId: not valid percent-encoding.'));
    next(err);
  });
}
