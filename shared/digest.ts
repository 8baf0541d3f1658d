import { createHash, type Hash } from 'node:crypto';
import { RelayError } from './errors.ts';

/** Digest algorithms we hash with; OCI image-spec registers sha256 and sha512. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;

/** A digest algorithm name. */
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

/** A validated content digest, `alg:hex`, lower-case hex of the algorithm's length. */
export type Digest = string & { readonly __brand: 'Digest' };

const DIGEST_SHAPE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** Parses `alg:hex`; unknown algorithms and malformed hex are refused with distinct codes. */
export function parseDigest(value: string): Digest {
  const match = DIGEST_SHAPE.exec(value);
  if (!match) throw new RelayError('INVALID_DIGEST', `not a digest: "${truncate(value)}" (want sha256:<64 hex>)`);
  const algorithm = match[1]!;
  const hex = match[2]!;
  if (!(algorithm in DIGEST_ALGORITHMS)) {
    throw new RelayError('UNSUPPORTED_DIGEST_ALGORITHM', `digest algorithm "${algorithm}" is not supported (sha256, sha512)`);
  }
  const length = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) {
    throw new RelayError('INVALID_DIGEST', `${algorithm} digest must be ${length} lower-case hex characters`);
  }
  return value as Digest;
}

/** The algorithm and hex parts of a digest. */
export function splitDigest(digest: Digest): { algorithm: DigestAlgorithm; hex: string } {
  const at = digest.indexOf(':');
  return { algorithm: digest.slice(0, at) as DigestAlgorithm, hex: digest.slice(at + 1) };
}

/** A fresh hash for the algorithm the digest names. */
export function createDigester(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

/** The digest of bytes in memory (manifests, fixtures); blobs go through verify-digest streams. */
export function digestOf(bytes: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

function truncate(value: string): string {
  return value.length > 80 ? `${value.slice(0, 77)}...` : value;
}
