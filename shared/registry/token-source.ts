import { request, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { readCapped } from './read-capped.ts';
import { refuseContentEncoding } from './registry-response.ts';
import { networkError, readWireErrors, registryError } from './wire-error.ts';

/**
 * Bearer tokens from a registry's token service (distribution `docs/spec/auth/token.md`, the flow
 * Harbor's `/service/token` implements): GET realm?service=..&scope=.. with Basic credentials
 * when configured, anonymous otherwise. Tokens are cached per (realm, service, scope set) and
 * shared by concurrent callers.
 */

/** Registry credentials (Harbor user or robot account `robot$project+name`). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** Where to get a token, and for what. */
export interface TokenRequest {
  /** The challenge's realm. It may name another host than the registry URL (Harbor's external URL: field case H3). */
  readonly realm: string;
  readonly service?: string | undefined;
  /** Exactly the scopes the operation needs, e.g. `repository:p/app:pull` (field case G4). */
  readonly scopes: readonly string[];
}

/** A cache of bearer tokens. */
export interface TokenSource {
  /** A token for `req`: cached, or fetched once however many callers ask at the same time. */
  token(req: TokenRequest): Promise<string>;
  /** Forgets `token` for `req` (after a 401), unless a newer token has replaced it already. */
  invalidate(req: TokenRequest, token: string): void;
}

/** Options for {@link createTokenSource}. */
export interface TokenSourceOptions {
  readonly dispatcher: Dispatcher;
  /** The registry host, for error messages. */
  readonly registry: string;
  readonly credentials?: Credentials | undefined;
  readonly userAgent?: string | undefined;
  /** Current time in ms; injectable for tests. */
  readonly now?: (() => number) | undefined;
}

/** The token spec's default lifetime when `expires_in` is absent. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 60;
/** Refresh this long before expiry, so a request never leaves with a token that dies in flight (G1). */
export const TOKEN_REFRESH_MARGIN_MS = 10_000;
/** Token bodies are small JWTs; 1 MiB bounds a broken or hostile token service. */
export const MAX_TOKEN_BODY_BYTES = 1024 * 1024;

interface CachedToken {
  readonly token: string;
  readonly refreshAt: number;
}

/** A token source over `dispatcher`. */
export function createTokenSource(options: TokenSourceOptions): TokenSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedToken>();
  const inflight = new Map<string, Promise<CachedToken>>();

  return {
    async token(req) {
      const key = cacheKey(req);
      const cached = cache.get(key);
      if (cached !== undefined && now() < cached.refreshAt) return cached.token;
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = fetchToken(req, options, now)
          .then((fresh) => {
            cache.set(key, fresh);
            return fresh;
          })
          .finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      return (await pending).token;
    },
    invalidate(req, token) {
      const key = cacheKey(req);
      if (cache.get(key)?.token === token) cache.delete(key);
    },
  };
}

/** The `Authorization` value for HTTP Basic (RFC 7617): UTF-8 `user:password`, base64. */
export function basicAuthorization(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

function cacheKey(req: TokenRequest): string {
  return JSON.stringify([req.realm, req.service ?? '', [...new Set(req.scopes)].sort()]);
}

async function fetchToken(req: TokenRequest, options: TokenSourceOptions, now: () => number): Promise<CachedToken> {
  let url: URL;
  try {
    url = new URL(req.realm);
  } catch {
    throw new RelayError('REGISTRY_ERROR', `${options.registry} named a token realm that is not a URL`, { details: { registry: options.registry } });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RelayError('REGISTRY_ERROR', `${options.registry} named a token realm with scheme ${url.protocol}`, {
      details: { registry: options.registry, realm: redactUrl(url) },
    });
  }
  if (req.service !== undefined && req.service !== '') url.searchParams.set('service', req.service);
  for (const scope of new Set(req.scopes)) url.searchParams.append('scope', scope);
  // identity, as on every registry request (field case F4): a request without it allows any encoding.
  const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': 'identity' };
  if (options.credentials) headers.authorization = basicAuthorization(options.credentials);
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  const context = { operation: 'token', registry: options.registry, url } as const;

  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { dispatcher: options.dispatcher, method: 'GET', headers });
  } catch (err) {
    throw networkError(err, context);
  }
  if (response.statusCode !== 200) {
    const errors = await readWireErrors(response.body);
    throw registryError(response.statusCode, errors, { ...context, retryAfter: response.headers['retry-after'] });
  }
  refuseContentEncoding({ response, url, fromRegistry: false }, context);
  const receivedAt = now();
  let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    const bytes = await readCapped(response.body, MAX_TOKEN_BODY_BYTES);
    if (bytes === undefined) throw new Error(`more than ${MAX_TOKEN_BODY_BYTES} bytes`);
    body = JSON.parse(bytes.toString('utf8')) as typeof body;
  } catch (err) {
    throw new RelayError('REGISTRY_ERROR', `the token service of ${options.registry} sent an unreadable answer`, {
      cause: err,
      retryable: true,
      details: { registry: options.registry, url: redactUrl(url) },
    });
  }
  // The first non-empty of token / access_token: Harbor may send `access_token: ""` (field case G2).
  const token = [body?.token, body?.access_token].find((value): value is string => typeof value === 'string' && value !== '');
  if (token === undefined) {
    throw new RelayError('REGISTRY_ERROR', `the token service of ${options.registry} answered without a token`, {
      details: { registry: options.registry, url: redactUrl(url) },
    });
  }
  const lifetimeMs =
    (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_LIFETIME_SECONDS) * 1000;
  // A token shorter-lived than twice the margin is still reused for half its life.
  const margin = Math.min(TOKEN_REFRESH_MARGIN_MS, lifetimeMs / 2);
  return { token, refreshAt: receivedAt + lifetimeMs - margin };
}
