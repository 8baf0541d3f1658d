import { RelayError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { readCapped } from './read-capped.ts';

/**
 * Registry error bodies and statuses, read in one place and turned into RelayErrors in one
 * function (regclient's HTTPError). distribution-spec §"Error Codes": `{"errors":[{code,message,detail}]}`.
 */

/** Error bodies are read up to 64 KiB: enough for any real one, bounded against an endless HTML page. */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A registry message is shown up to this many characters. */
const MAX_SHOWN_MESSAGE = 300;

/** One entry of a distribution error body. */
export interface WireError {
  readonly code: string;
  readonly message: string;
}

/** Codes that mean "there is no such thing": the spec's and Harbor's `NOT_FOUND` (field case H1). */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN', 'NOT_FOUND']);
/** Network failures worth another try: resets, refusals, timeouts, DNS hiccups. */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/**
 * OpenSSL and Node TLS codes: an expired, self-signed or misnamed certificate, or TLS spoken to a
 * plain-HTTP port. Another try gets the same answer, so they are not retried; what to check is named.
 */
const TLS_CODE = /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|EPROTO$)|_CERT($|_)|^HOSTNAME_MISMATCH$/;
/** undici errors that are bugs in the request, not network faults. */
const NON_NETWORK_UNDICI_CODES: ReadonlySet<string> = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_INVALID_RETURN_VALUE', 'UND_ERR_NOT_SUPPORTED']);

/** What a request was for, to name the error and choose the not-found code. */
export interface RegistryErrorContext {
  /** `ping` is GET /v2/, `token` the token service, `storage` a redirect target off the registry's origin. */
  readonly operation: 'ping' | 'token' | 'manifest' | 'blob' | 'storage';
  readonly registry: string;
  readonly repository?: string | undefined;
  /** The tag or digest asked for. */
  readonly reference?: string | undefined;
  /** The URL asked; redacted before it goes anywhere. */
  readonly url?: string | URL | undefined;
  /** The response's Retry-After header. */
  readonly retryAfter?: string | readonly string[] | undefined;
  /** Current time in ms, for an HTTP-date Retry-After; injectable for tests. */
  readonly now?: (() => number) | undefined;
}

/** Reads up to `cap` bytes of an error body and parses it; HTML, empty or truncated bodies give `[]`. */
export async function readWireErrors(body: AsyncIterable<Uint8Array> | undefined, cap = MAX_ERROR_BODY_BYTES): Promise<WireError[]> {
  if (body === undefined) return [];
  try {
    const bytes = await readCapped(body, cap);
    return bytes === undefined ? [] : parseWireErrors(bytes);
  } catch {
    return []; // a body cut short says nothing more than its status
  }
}

/** The `errors` of a distribution error body; anything else (HTML, text, empty) gives `[]`. */
export function parseWireErrors(bytes: Uint8Array): WireError[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.flatMap((entry: unknown): WireError[] => {
    if (typeof entry !== 'object' || entry === null) return [];
    const { code, message } = entry as { code?: unknown; message?: unknown };
    return [{ code: typeof code === 'string' ? code.toUpperCase() : '', message: typeof message === 'string' ? message : '' }];
  });
}

/**
 * The RelayError for a registry answer with `status`:
 * 404 or a not-found code → IMAGE_NOT_FOUND (manifests) / BLOB_NOT_FOUND (blobs);
 * 401/403 → DENIED, not retryable (callers map only after their one token refresh);
 * 429 → RATE_LIMITED with Retry-After; 408 and 5xx → REGISTRY_UNAVAILABLE, retryable;
 * anything else → REGISTRY_ERROR.
 */
export function registryError(status: number, errors: readonly WireError[], context: RegistryErrorContext): RelayError {
  const codes = errors.map((e) => e.code).filter(Boolean);
  const said = registrySaid(errors);
  const details = { ...contextDetails(context), status, ...(codes.length ? { errors: codes } : {}) };
  const retryAfterMs = parseRetryAfter(context.retryAfter, context.now?.() ?? Date.now());
  const what = describe(context);
  const options = { details, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };

  if (status === 429 || codes.includes('TOOMANYREQUESTS')) {
    return new RelayError('RATE_LIMITED', `${context.registry} is rate limiting requests for ${what}${said}`, options);
  }
  if (status === 408 || status >= 500) {
    return new RelayError('REGISTRY_UNAVAILABLE', `${context.registry} answered ${status} for ${what}${said}`, options);
  }
  if (context.operation === 'storage') {
    // A presigned URL that storage refuses (expired, clock skew) may work when the registry signs a fresh one.
    const retryable = status === 401 || status === 403;
    const code = status === 404 ? 'BLOB_NOT_FOUND' : 'REGISTRY_ERROR';
    return new RelayError(code, `storage answered ${status} for ${what} (redirected by ${context.registry})`, { ...options, retryable });
  }
  if (status === 401 || status === 403) {
    if (context.operation === 'token') {
      return new RelayError('DENIED', `the token service of ${context.registry} rejected the credentials${said}`, options);
    }
    const repository = context.repository ?? context.registry;
    return new RelayError(
      'DENIED',
      `denied or not found: credentials rejected or no pull permission for ${repository}` +
        ` (a registry answers ${status} alike for a repository that does not exist)${said}`,
      options,
    );
  }
  if (status === 404 || codes.some((code) => NOT_FOUND_CODES.has(code))) {
    if (context.operation === 'manifest') return new RelayError('IMAGE_NOT_FOUND', `image not found: ${what}${said}`, options);
    if (context.operation === 'blob') return new RelayError('BLOB_NOT_FOUND', `blob not found: ${what}${said}`, options);
    return new RelayError('REGISTRY_ERROR', `${context.registry} answered 404 for ${what}: is it a registry (distribution API /v2/)?`, options);
  }
  return new RelayError('REGISTRY_ERROR', `${context.registry} answered ${status} for ${what}${said}`, options);
}

/**
 * A RelayError for a request that got no HTTP answer: connection resets and refusals, timeouts
 * and undici's UND_ERR_* become REGISTRY_UNAVAILABLE, retryable; TLS failures and answers that are
 * not HTTP become REGISTRY_ERROR naming the host, not retried. RelayErrors pass through.
 */
export function networkError(err: unknown, context: RegistryErrorContext): RelayError {
  if (err instanceof RelayError) return err;
  const code = errorCode(err);
  const transient =
    code !== undefined &&
    (TRANSIENT_NETWORK_CODES.has(code) || (code.startsWith('UND_ERR_') && !NON_NETWORK_UNDICI_CODES.has(code)));
  const timedOut = (err as { name?: unknown } | null)?.name === 'TimeoutError';
  const details = { ...contextDetails(context), ...(code === undefined ? {} : { cause: code }) };
  if (code !== undefined && TLS_CODE.test(code)) {
    return new RelayError(
      'REGISTRY_ERROR',
      `TLS with ${hostOf(context)} failed (${code}) for ${describe(context)}: check its certificate (expired, self-signed, ` +
        'another name, a CA this machine does not trust) and whether the URL should be http',
      { cause: err, details },
    );
  }
  if (code?.startsWith('HPE_')) {
    return new RelayError('REGISTRY_ERROR', `${hostOf(context)} did not answer in HTTP (${code}) for ${describe(context)}`, { cause: err, details });
  }
  if (transient || timedOut) {
    return new RelayError('REGISTRY_UNAVAILABLE', `${context.registry} could not be reached for ${describe(context)} (${code ?? 'timeout'})`, {
      cause: err,
      details,
    });
  }
  return new RelayError('INTERNAL', `request for ${describe(context)} failed unexpectedly`, { cause: err, details });
}

/** Error details safe to log and show: registry, repository, reference, redacted URL. */
export function contextDetails(context: RegistryErrorContext): Record<string, unknown> {
  return {
    registry: context.registry,
    ...(context.repository === undefined ? {} : { repository: context.repository }),
    ...(context.reference === undefined ? {} : { reference: context.reference }),
    ...(context.url === undefined ? {} : { url: redactUrl(context.url) }),
  };
}

/**
 * Retry-After in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3), undefined when absent or
 * malformed, which means "use the backoff". Only the grammar's forms are read: V8's Date.parse
 * takes "1.5", "-1" or "abc 1" for dates long past, which would mean retrying at once, forever.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, nowMs: number): number | undefined {
  const text = (typeof value === 'string' ? value : value?.[0])?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, nowMs);
  return at === undefined ? undefined : Math.max(0, at - nowMs);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, asctime `Sun Nov  6 08:49:37 1994` (RFC 9110 §5.6.7). */
const HTTP_DATE_FORMS: ReadonlyArray<{ pattern: RegExp; order: 'dmy' | 'mdy' }> = [
  { pattern: /^[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/, order: 'dmy' },
  { pattern: /^[A-Z][a-z]{5,8}, (\d{2})-([A-Z][a-z]{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/, order: 'dmy' },
  { pattern: /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/, order: 'mdy' },
];

/** Epoch ms of an HTTP-date in one of its three forms; undefined for anything else, or an impossible date. */
function parseHttpDate(text: string, nowMs: number): number | undefined {
  for (const { pattern, order } of HTTP_DATE_FORMS) {
    const m = pattern.exec(text);
    if (!m) continue;
    const [day, month, year, hour, minute, second] =
      order === 'dmy' ? [m[1], m[2], m[3], m[4], m[5], m[6]] : [m[2], m[1], m[6], m[3], m[4], m[5]];
    const monthIndex = MONTHS.indexOf(month!);
    let fullYear = Number(year);
    if (year!.length === 2) {
      // RFC 9110: a two-digit year more than 50 years in the future is in the past century.
      fullYear += 2000;
      if (fullYear > new Date(nowMs).getUTCFullYear() + 50) fullYear -= 100;
    }
    const at = Date.UTC(fullYear, monthIndex, Number(day), Number(hour), Number(minute), Number(second));
    const check = new Date(at);
    if (monthIndex < 0 || check.getUTCDate() !== Number(day) || check.getUTCHours() !== Number(hour) || Number(minute) > 59 || Number(second) > 60) return undefined;
    return at;
  }
  return undefined;
}

/** "image harbor.example/p/app:1.0", "blob harbor.example/p/app@sha256:...", "a token". */
function describe(context: RegistryErrorContext): string {
  switch (context.operation) {
    case 'ping':
      return 'the API version check (GET /v2/)';
    case 'token':
      return 'a token';
    default: {
      const name = `${context.registry}/${context.repository ?? ''}`;
      const reference = context.reference ?? '';
      // Tags cannot contain ':', digests always do.
      const joined = reference === '' ? name : `${name}${reference.includes(':') ? '@' : ':'}${reference}`;
      return `${context.operation === 'manifest' ? 'image' : 'blob'} ${joined}`;
    }
  }
}

/** `host:port` of the URL asked (storage, token service), else the registry. */
function hostOf(context: RegistryErrorContext): string {
  if (context.url === undefined) return context.registry;
  try {
    return new URL(context.url).host;
  } catch {
    return context.registry;
  }
}

function registrySaid(errors: readonly WireError[]): string {
  const first = errors[0];
  if (first === undefined) return '';
  const text = [first.code, first.message].filter(Boolean).join(': ');
  const shown = text.length > MAX_SHOWN_MESSAGE ? `${text.slice(0, MAX_SHOWN_MESSAGE - 3)}...` : text;
  return shown === '' ? '' : `; registry said: ${shown}`;
}

function errorCode(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
