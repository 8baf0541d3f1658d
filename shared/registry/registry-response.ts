import type { Readable } from 'node:stream';
import { RelayError } from '../errors.ts';
import type { FollowedResponse } from './follow-redirects.ts';
import { contextDetails, readWireErrors, registryError, type RegistryErrorContext } from './wire-error.ts';

/** Throws the RelayError for a non-success answer, reading its capped error body. */
export async function failFor(answer: FollowedResponse, context: RegistryErrorContext): Promise<never> {
  const errors = await readWireErrors(answer.response.body);
  throw registryError(answer.response.statusCode, errors, {
    ...context,
    operation: answer.fromRegistry ? context.operation : 'storage',
    url: answer.url,
    retryAfter: answer.response.headers['retry-after'],
  });
}

/**
 * A re-encoded body no longer hashes to its digest (field case F4). We send
 * `Accept-Encoding: identity`; a `Content-Encoding` that comes back anyway is refused, not decoded:
 * decoding would hide a proxy that rewrites bodies, and the digest names the encoded bytes.
 */
export function refuseContentEncoding(answer: FollowedResponse, context: RegistryErrorContext): void {
  const encoding = answer.response.headers['content-encoding'];
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return;
  discardBody(answer.response.body);
  throw new RelayError('REGISTRY_ERROR', `the server sent Content-Encoding ${value.slice(0, 50)} despite Accept-Encoding: identity; the bytes would not match the digest`, {
    details: { ...contextDetails({ ...context, url: answer.url }), contentEncoding: value.slice(0, 50) },
  });
}

/** Drops a response body we will not read; destroying it aborts the request (undici reports the abort to nobody). */
export function discardBody(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}
