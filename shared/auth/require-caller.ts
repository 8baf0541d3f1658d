import type { Context, MiddlewareHandler } from 'hono';
import { RelayError } from '../errors.ts';
import type { AccessControl } from './access-control.ts';
import type { Caller } from './caller.ts';

/** Where the middleware leaves the caller for the route. */
const CALLER_KEY = 'layer-relay.caller';

/**
 * Route middleware: identifies the caller from `Authorization` or answers 401 (with the mode's
 * `WWW-Authenticate`) before the route reads anything. Put it on each protected route, not on `*`:
 * a sub-app's `use('*')` spreads to every route of the app it is mounted in (the signed `/objects`
 * URLs and `/healthz` must stay open).
 */
export function requireCaller(access: AccessControl): MiddlewareHandler {
  return async (c, next) => {
    c.set(CALLER_KEY as never, access.authenticate(c.req.header('authorization')) as never);
    await next();
  };
}

/** The caller {@link requireCaller} identified; a route without the middleware is a programming error. */
export function callerOf(c: Context): Caller {
  const caller = c.get(CALLER_KEY as never) as Caller | undefined;
  if (caller === undefined) throw new RelayError('INTERNAL', `route ${c.req.path} ran without requireCaller`);
  return caller;
}
