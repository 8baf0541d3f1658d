import type { MiddlewareHandler } from 'hono';
import { unauthenticated, RELAY_REALM } from '../../shared/auth/access-control.ts';
import { constantTimeEqual } from '../../shared/auth/constant-time-equal.ts';

const CHALLENGE = `Bearer realm="${RELAY_REALM}-webhook"`;

/**
 * Route middleware for POST /v1/webhooks/harbor: Harbor sends the policy's "Auth Header" value as
 * the Authorization header, verbatim; it must equal RELAY_WEBHOOK_SECRET, compared in constant
 * time. Checked before the body is read, so a wrong secret queues nothing. Without a configured
 * secret, every delivery is refused: an open webhook would let anyone make the relay copy.
 */
export function requireWebhookSecret(secret: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (secret === undefined) throw unauthenticated('Harbor webhooks are not enabled on this relay (set RELAY_WEBHOOK_SECRET)', CHALLENGE);
    if (!constantTimeEqual(c.req.header('authorization') ?? '', secret)) {
      throw unauthenticated('the webhook Authorization header does not match RELAY_WEBHOOK_SECRET (set it as the webhook policy\'s Auth Header)', CHALLENGE);
    }
    await next();
  };
}
