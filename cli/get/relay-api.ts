import { ERROR_CODES, RelayError, type ErrorCode } from '../../shared/errors.ts';
import type { PullRecord } from '../../shared/pull-record.ts';
import { redactUrl } from '../../shared/redact.ts';
import { printableText } from '../../shared/printable-text.ts';

/** The relay's HTTP API as `get` uses it (README "HTTP API"). */
export interface RelayApi {
  /** POST /v1/pulls: a new or already running pull, or a finished one for a stored digest. */
  postPull(image: string, platform: string): Promise<PullRecord>;
  /** GET /v1/pulls/:id. */
  getPull(id: string): Promise<PullRecord>;
  /** GET /v1/blobs/:digest → a fresh signed URL (the one in the pull record expired). */
  blobUrl(digest: string): Promise<string>;
}

/** Answers from the relay are small JSON; a relay that is up answers within this. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A client for the relay at `baseUrl`. Credentials go on /v1 requests only: LAYER_RELAY_TOKEN as
 * Bearer (RELAY_AUTH=token), else LAYER_RELAY_USERNAME/PASSWORD as Basic (RELAY_AUTH=harbor: the
 * caller's own Harbor login). Never on signed object URLs: those may name a storage host (S3),
 * which refuses a second auth mechanism (field case A1) and must not see them anyway.
 */
export function createRelayApi(options: { baseUrl: string; credentials?: { username: string; password: string } | undefined; token?: string | undefined; signal?: AbortSignal }): RelayApi {
  const base = parseRelayUrl(options.baseUrl);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  else if (options.credentials) headers.authorization = `Basic ${Buffer.from(`${options.credentials.username}:${options.credentials.password}`, 'utf8').toString('base64')}`;

  const call = async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const url = new URL(`${base.pathname.replace(/\/+$/, '')}${path}`, base); // keeps a path prefix (a relay behind /relay/)
    const signals = [AbortSignal.timeout(REQUEST_TIMEOUT_MS), ...(options.signal ? [options.signal] : [])];
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers: init.body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.any(signals),
        redirect: 'error',
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      throw new RelayError('RELAY_UNAVAILABLE', `cannot reach the relay at ${redactUrl(base.href)}: ${causeOf(err)}`, { cause: err });
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!response.ok) throw apiError(response.status, body, url);
    if (body === undefined) throw new RelayError('RELAY_UNAVAILABLE', `${redactUrl(url.href)} answered ${response.status} without JSON; is this a layer-relay?`);
    return body as T;
  };

  return {
    postPull: (image, platform) => call<PullRecord>('/v1/pulls', { method: 'POST', body: { image, platform } }),
    getPull: (id) => call<PullRecord>(`/v1/pulls/${encodeURIComponent(id)}`),
    blobUrl: async (digest) => (await call<{ url: string }>(`/v1/blobs/${encodeURIComponent(digest)}`)).url,
  };
}

/** A pull record's `error`, or an API error body's, as a RelayError with the same code. */
export function relayErrorFrom(error: { code?: unknown; message?: unknown } | undefined, fallback: ErrorCode, fallbackMessage: string): RelayError {
  const code = typeof error?.code === 'string' && error.code in ERROR_CODES ? (error.code as ErrorCode) : fallback;
  const message = typeof error?.message === 'string' && error.message !== '' ? error.message : fallbackMessage;
  return new RelayError(code, message);
}

function apiError(status: number, body: unknown, url: URL): RelayError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (status === 401) return relayErrorFrom(error, 'UNAUTHENTICATED', 'the relay wants credentials');
  const fallback: ErrorCode = status === 403 ? 'DENIED' : status === 404 ? 'NOT_FOUND' : status >= 500 ? 'RELAY_UNAVAILABLE' : 'INVALID_REQUEST';
  // A relay's 404 carries its error body; a bare one means --relay names something else, often Harbor (h2 N19).
  const notARelay = status === 404 && error === undefined ? '; is this a layer-relay? (--relay and LAYER_RELAY_URL name the relay, not Harbor)' : '';
  return relayErrorFrom(error, fallback, `${redactUrl(url.href)} answered ${status}${notARelay}`);
}

function parseRelayUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Shown as typed (redactUrl would resolve it against a base and mangle it), unless it may hold a password.
    const shown = value.includes('@') ? 'given' : `"${printableText(value, 80)}"`;
    throw new RelayError('INVALID_REQUEST', `relay URL ${shown} is not a URL (e.g. https://relay.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RelayError('INVALID_REQUEST', `relay URL must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new RelayError('INVALID_REQUEST', 'put relay credentials in LAYER_RELAY_USERNAME/LAYER_RELAY_PASSWORD, not in the URL');
  return url;
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? 'network error';
}
