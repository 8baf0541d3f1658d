import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { RelayError, toRelayError } from './errors.ts';
import { errorFields, type Logger } from './log.ts';

/** The one error shape of the HTTP API (design.md §4). */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string };
}

/** The challenge of a 401 whose error names none (RELAY_AUTH=harbor's scheme). */
const DEFAULT_CHALLENGE = 'Basic realm="layer-relay"';

/** Message shown for 5xx: details stay in the log, keyed by request id (middy's rule). */
const GENERIC_SERVER_MESSAGE = 'internal error; the request id identifies the details in the relay log';

/**
 * Installs request ids and the single error translation of an HTTP app: RelayErrors answer with
 * their status and code, 4xx messages as written, 5xx replaced by a generic message after logging.
 */
export function installErrorHandling(app: Hono, log: Logger): void {
  app.use('*', requestId());
  app.onError((err, c) => errorResponse(c, err, log));
  app.notFound((c) => errorResponse(c, new RelayError('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), log));
}

/** Translates any thrown value to the JSON error response. */
export function errorResponse(c: Context, thrown: unknown, log: Logger): Response {
  const err = thrown instanceof HTTPException && thrown.status === 413 ? new RelayError('PAYLOAD_TOO_LARGE', 'request body is too large') : toRelayError(thrown);
  const id = (c.get('requestId') as string | undefined) ?? 'unknown';
  const serverSide = err.status >= 500;
  if (serverSide) log.error('request failed', { requestId: id, method: c.req.method, path: c.req.path, code: err.code, ...errorFields(thrown) });
  // Refused callers are worth an audit line: who was turned away where (never what they sent).
  else if (err.status === 401 || err.status === 403) log.info('request refused', { requestId: id, method: c.req.method, path: c.req.path, code: err.code, message: err.message });
  const body: ErrorBody = { error: { code: err.code, message: serverSide ? GENERIC_SERVER_MESSAGE : err.message, requestId: id } };
  // RFC 9110 §15.5.2: a 401 must say how to authenticate; the access mode put its challenge in details.
  const challenge = err.status === 401 ? (typeof err.details?.challenge === 'string' ? err.details.challenge : DEFAULT_CHALLENGE) : undefined;
  return c.json(body, err.status as 400, challenge === undefined ? {} : { 'WWW-Authenticate': challenge });
}
