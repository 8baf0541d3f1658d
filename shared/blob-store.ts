import type { Readable } from 'node:stream';
import type { Digest } from './digest.ts';
import type { ObjectKind } from './object-key.ts';

/** A stored, verified object. */
export interface StoredObject {
  digest: Digest;
  size: number;
}

/** A short-lived URL that lets anyone holding it GET one object. */
export interface SignedUrl {
  url: string;
  expiresAt: Date;
}

/**
 * The object store port. An object is visible under its key only once its bytes were verified
 * against the digest in the key; a failed or aborted write leaves nothing behind.
 */
export interface BlobStore {
  /** The stored object, or undefined when it is not there. */
  stat(kind: ObjectKind, digest: Digest): Promise<StoredObject | undefined>;
  /**
   * Streams `source` into the store, hashing and counting as it flows. Resolves when the object is
   * visible; rejects with DIGEST_MISMATCH or SIZE_MISMATCH (and stores nothing) otherwise.
   */
  put(kind: ObjectKind, digest: Digest, size: number, source: Readable): Promise<StoredObject>;
  /** A URL that serves the object until `ttlSeconds` from now. */
  signUrl(kind: ObjectKind, digest: Digest, ttlSeconds: number): Promise<SignedUrl>;
}
