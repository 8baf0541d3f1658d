/**
 * Scrubbing of URLs and headers before they reach a log line or an error message
 * (go-containerregistry's internal/redact): signed query strings and credentials never leave.
 */

/** Query keys whose values carry no secret and help a person debug (registry token and list APIs). */
export const SAFE_QUERY_KEYS: ReadonlySet<string> = new Set(['scope', 'service', 'n', 'last', 'digest', 'mount', 'from']);

/** What replaces a hidden value. */
export const REDACTED = 'REDACTED';

/** Base used only to parse relative URLs; never printed. */
const RELATIVE_BASE = 'http://relative.invalid';

/** Header names (lower-case) whose values are credentials. */
const SECRET_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-registry-auth',
  'x-harbor-csrf-token',
]);

/** Header prefixes of storage providers' signing and session headers (S3 `X-Amz-Security-Token`, GCS, Azure). */
const SECRET_HEADER_PREFIXES = ['x-amz-', 'x-goog-', 'x-ms-'] as const;

/** Headers whose value is a URL that may be signed (a redirect to storage): shown through {@link redactUrl}. */
const URL_HEADERS: ReadonlySet<string> = new Set(['location', 'content-location']);

/**
 * The URL without userinfo or fragment, with every query value outside {@link SAFE_QUERY_KEYS}
 * replaced by `REDACTED` (presigned S3 URLs carry their signature in `X-Amz-Signature`).
 */
export function redactUrl(url: string | URL): string {
  let parsed: URL;
  let relative = false;
  try {
    parsed = new URL(url);
  } catch {
    try {
      // A relative Location ("/v2/..."): redact it the same way, print it relative.
      parsed = new URL(url, RELATIVE_BASE);
      relative = true;
    } catch {
      return '<unparsable url>';
    }
  }
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  const kept = new URLSearchParams();
  for (const [key, value] of parsed.searchParams) {
    kept.append(key, SAFE_QUERY_KEYS.has(key.toLowerCase()) ? value : REDACTED);
  }
  parsed.search = kept.size === 0 ? '' : kept.toString();
  return relative ? `${parsed.pathname}${parsed.search}` : parsed.toString();
}

/** A copy of `headers` with credential values replaced by `REDACTED` and URL values redacted. */
export function redactHeaders(
  headers: Readonly<Record<string, string | readonly string[] | number | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const lower = name.toLowerCase();
    const values = Array.isArray(value) ? value.map(String) : String(value);
    if (SECRET_HEADERS.has(lower) || SECRET_HEADER_PREFIXES.some((prefix) => lower.startsWith(prefix))) {
      out[name] = REDACTED;
    } else if (URL_HEADERS.has(lower)) {
      out[name] = Array.isArray(values) ? values.map(redactUrl) : redactUrl(values);
    } else {
      out[name] = values;
    }
  }
  return out;
}
