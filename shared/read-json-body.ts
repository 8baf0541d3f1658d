import type { Context } from 'hono';
import { RelayError } from './errors.ts';

/** Request bodies are small JSON documents; 64 KiB is far above any valid one. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

/** Reads a JSON request body, refusing oversized bodies (413) and non-JSON (400) with stable codes. */
export async function readJsonBody(c: Context, limit = MAX_JSON_BODY_BYTES): Promise<unknown> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > limit) throw tooLarge(limit);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > limit) throw tooLarge(limit);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RelayError('INVALID_JSON', 'request body is not valid JSON (send Content-Type: application/json and a JSON object)');
  }
}

function tooLarge(limit: number): RelayError {
  return new RelayError('PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`);
}
