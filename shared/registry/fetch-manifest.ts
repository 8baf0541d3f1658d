import { digestOf, splitDigest, type Digest, type DigestAlgorithm } from '../digest.ts';
import { RelayError } from '../errors.ts';
import type { ImageRef } from '../image-ref.ts';
import type { RetryPolicy } from '../retry-policy.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { readCapped } from './read-capped.ts';
import type { RegistryRequest } from './registry-request.ts';
import { discardBody, failFor, refuseContentEncoding } from './registry-response.ts';
import { contextDetails, networkError, type RegistryErrorContext } from './wire-error.ts';

/** Manifests are small (distribution itself refuses to store more than 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** A fetched manifest and the digest of its bytes. */
export interface FetchedManifest {
  readonly digest: Digest;
  readonly manifest: Manifest;
}

/** Fetches one manifest by tag or digest. */
export type ManifestFetcher = (ref: ImageRef, reference: string, expected: Digest | undefined) => Promise<FetchedManifest>;

/**
 * A manifest fetcher: GET with all four manifest types in Accept on every request (field case B1)
 * and `Accept-Encoding: identity` (F4); the digest is computed from the bytes received, never taken
 * from Docker-Content-Digest (B2), and must equal `expected` for a digest reference. Nothing is
 * cross-checked against HEAD or Content-Length beyond the 4 MiB cap (B3). Retried by `retry`.
 */
export function createManifestFetcher(request: RegistryRequest, retry: RetryPolicy, registry: string): ManifestFetcher {
  return (ref, reference, expected) =>
    retry.retry(async () => {
      const context: RegistryErrorContext = { operation: 'manifest', registry, repository: ref.repository, reference };
      const answer = await request.get(`/v2/${ref.repository}/manifests/${reference}`, ref.repository, { accept: MANIFEST_ACCEPT, 'accept-encoding': 'identity' }, context);
      const { response } = answer;
      if (response.statusCode !== 200) return failFor(answer, context);
      refuseContentEncoding(answer, context);
      if (Number(response.headers['content-length']) > MAX_MANIFEST_BYTES) {
        discardBody(response.body);
        throw tooLarge(context);
      }
      let bytes: Buffer | undefined;
      try {
        bytes = await readCapped(response.body, MAX_MANIFEST_BYTES);
      } catch (err) {
        throw networkError(err, { ...context, url: answer.url });
      }
      if (bytes === undefined) throw tooLarge(context);
      const algorithm: DigestAlgorithm = expected ? splitDigest(expected).algorithm : 'sha256';
      const digest = digestOf(bytes, algorithm);
      if (expected !== undefined && digest !== expected) {
        throw new RelayError('DIGEST_MISMATCH', `manifest ${expected} hashes to ${digest}`, { details: { ...contextDetails(context), actual: digest } });
      }
      const contentType = response.headers['content-type'];
      try {
        return { digest, manifest: parseManifest(bytes, typeof contentType === 'string' ? contentType : undefined) };
      } catch (err) {
        if (err instanceof RelayError) throw new RelayError(err.code, err.message, { cause: err.cause, details: { ...contextDetails(context), ...err.details } });
        throw err;
      }
    });
}

function tooLarge(context: RegistryErrorContext): RelayError {
  return new RelayError('MANIFEST_TOO_LARGE', `manifest ${context.reference ?? ''} is larger than ${MAX_MANIFEST_BYTES} bytes`, {
    details: contextDetails(context),
  });
}
