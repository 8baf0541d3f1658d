import type { Context } from 'hono';
import { RelayError } from './errors.ts';

/** Request bodies are small JSON documents; 64 KiB is far above any valid one. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

/**
 * Reads a JSON request body, refusing oversized bodies (413) and non-JSON (400) with stable codes.
 * A declared Content-Length over the limit is refused before reading; a body without one (chunked)
 * is counted as it arrives and reading stops at the limit, so no caller — not even one whose
 * credentials are still unchecked — can make the relay buffer more than the limit.
 */
export async function readJsonBody(c: Context, limit = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const length = c.req.header('content-length');
  const declared = length === undefined ? undefined : Number(length);
  if (declared !== undefined && declared > limit) throw tooLarge(limit);
  // A declared length bounds the body (the HTTP parser reads exactly that many bytes), so the fast
  // path may read it whole: counting through a web stream costs the API ~40 % of its requests per
  // second (npm run bench, figure 6). Only a body without one (chunked) is counted as it arrives.
  const text = declared !== undefined && Number.isSafeInteger(declared) ? await c.req.text() : await readCapped(c.req.raw.body, limit);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RelayError('INVALID_JSON', 'request body is not valid JSON (send Content-Type: application/json and a JSON object)');
  }
}

/**
 * Refuses a body not declared as JSON (`application/json`, or a `+json` type) with 415. Browsers send
 * `text/plain` and form posts cross-site without a CORS preflight; requiring a JSON type means a web
 * page cannot make a visitor's browser queue pulls on a relay listening on their loopback.
 */
export function requireJsonContentType(c: Context): void {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return;
  throw new RelayError('UNSUPPORTED_MEDIA_TYPE', `send the body as JSON with Content-Type: application/json${type ? ` (got ${type.slice(0, 100)})` : ''}`);
}

/** The body as UTF-8, at most `limit` bytes; the stream is cancelled the moment it goes past. */
async function readCapped(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (body === null) return '';
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(limit: number): RelayError {
  return new RelayError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`);
}
