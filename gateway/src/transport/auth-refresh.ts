/**
 * `auth:refresh`: a renewed token for the same user, unless the user's tokens were revoked since. Built
 * once per node (its schema too: a zod schema binds some thirty methods when constructed, which per socket
 * was a good part of what an idle connection retained); the socket it re-arms comes with the request.
 */
import { z } from 'zod';
import type { TokenVerifier } from '../auth/index.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { SessionStore } from '../session/session-store.ts';
import type { AuthLifecycle } from './auth-lifecycle.ts';
import type { PipelineRequest, RequestSource } from './requests/request-pipeline.ts';

/** A request source that can renew its socket's token. */
export interface RenewableSource extends RequestSource {
  readonly lifecycle: Pick<AuthLifecycle, 'renew'>;
}

/** The `auth:refresh` request, for the pipeline. */
export function authRefreshRequest(deps: {
  verifier: TokenVerifier;
  store: Pick<SessionStore, 'isRevoked'>;
}): PipelineRequest<RenewableSource> {
  return {
    event: 'auth:refresh',
    // Any payload: a missing or non-string token is refused by the verifier with its own code.
    schema: z
      .unknown()
      .transform((payload) =>
        typeof payload === 'object' && payload !== null ? (payload as { token?: unknown }).token : undefined,
      ),
    idempotency: 'ledger',
    async handle(ctx, token, source) {
      const renewed = deps.verifier.verifyRefresh(typeof token === 'string' ? token : undefined, ctx.userId);
      // One store read: a token issued at or before a revocation of this user is refused on every node.
      if (await deps.store.isRevoked(ctx.userId, renewed.issuedAtSeconds))
        throw new GatewayError('AUTH_REVOKED');
      source.lifecycle.renew(renewed);
      return { expiresAt: renewed.expiresAtMs };
    },
  };
}
