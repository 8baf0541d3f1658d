import { request, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { forbiddenHostError, isForbiddenHost } from './forbidden-host.ts';
import { isAllowedForeignHost } from './foreign-layer.ts';
import { contextDetails, networkError, type RegistryErrorContext } from './wire-error.ts';

/**
 * GET with redirects followed by our code, not undici's (field cases A1, A3): the registry's
 * `Authorization` goes only to the registry's own origin, never to the storage a blob GET is
 * redirected to (S3 answers 400 "only one auth mechanism allowed" when it gets both).
 */

/** Redirect hops allowed: distribution redirects a blob once (to storage); 5 leaves room for proxies. */
export const MAX_REDIRECTS = 5;
/** Statuses that carry a Location to follow with GET (RFC 9110 §15.4). */
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Redirect bodies are drained up to this much to keep the connection; beyond, it is closed. */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/** One GET to make. */
export interface FollowRequest {
  readonly url: URL;
  readonly dispatcher: Dispatcher;
  /** Sent on every hop. */
  readonly headers: Readonly<Record<string, string>>;
  /** Sent only on hops whose origin is `trustedOrigin`. */
  readonly authorization?: string | undefined;
  /** The registry's origin (`scheme://host:port`). */
  readonly trustedOrigin: string;
  /** When set (a foreign-layer fetch), every hop's host must be on it (RELAY_FOREIGN_HOSTS). */
  readonly allowedHosts?: ReadonlySet<string> | undefined;
  /** For errors. */
  readonly context: RegistryErrorContext;
}

/** The final, non-redirect answer and where it came from. */
export interface FollowedResponse {
  readonly response: Dispatcher.ResponseData;
  readonly url: URL;
  /** True when the answer came from the registry's origin (not from storage). */
  readonly fromRegistry: boolean;
}

/**
 * GETs `url`, following up to {@link MAX_REDIRECTS} redirects: relative Locations resolve against
 * the URL asked; non-http(s) schemes, link-local or cloud-metadata hosts (SSRF to the machine's
 * credentials), and hosts off `allowedHosts` when given, are refused with REDIRECT_REFUSED. Network faults become retryable
 * REGISTRY_UNAVAILABLE.
 */
export async function followRedirects(req: FollowRequest): Promise<FollowedResponse> {
  let url = req.url;
  for (let hop = 0; ; hop++) {
    const fromRegistry = url.origin === req.trustedOrigin;
    const headers = fromRegistry && req.authorization ? { ...req.headers, authorization: req.authorization } : { ...req.headers };
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { dispatcher: req.dispatcher, method: 'GET', headers });
    } catch (err) {
      throw networkError(err, { ...req.context, url });
    }
    if (!REDIRECT_STATUSES.has(response.statusCode)) return { response, url, fromRegistry };

    await response.body.dump({ limit: DRAIN_LIMIT_BYTES }).catch(() => undefined);
    const location = response.headers.location;
    const details = contextDetails({ ...req.context, url });
    if (typeof location !== 'string' || location === '') {
      throw new RelayError('REGISTRY_ERROR', `redirect ${response.statusCode} without a Location from ${redactUrl(url)}`, { details });
    }
    if (hop >= MAX_REDIRECTS) {
      throw new RelayError('REDIRECT_REFUSED', `more than ${MAX_REDIRECTS} redirects, last from ${redactUrl(url)}`, { details });
    }
    let next: URL;
    try {
      next = new URL(location, url);
    } catch {
      throw new RelayError('REGISTRY_ERROR', `redirect from ${redactUrl(url)} to an unparsable Location`, { details });
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new RelayError('REDIRECT_REFUSED', `redirect to a ${next.protocol} URL refused (only http and https are followed)`, {
        details: { ...details, scheme: next.protocol },
      });
    }
    if (isForbiddenHost(next.hostname)) {
      throw forbiddenHostError(`redirect to ${redactUrl(next)}`, next.hostname, { ...details, location: redactUrl(next) });
    }
    if (req.allowedHosts !== undefined && !isAllowedForeignHost(next, req.allowedHosts)) {
      throw new RelayError('REDIRECT_REFUSED', `redirect to ${redactUrl(next)} refused: ${next.host} is not in RELAY_FOREIGN_HOSTS`, {
        details: { ...details, location: redactUrl(next) },
      });
    }
    url = next;
  }
}
