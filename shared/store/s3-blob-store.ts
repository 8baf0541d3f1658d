import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { pipeline, type Readable } from 'node:stream';
import type { BlobStore, SignedUrl, StoredObject } from '../blob-store.ts';
import type { Digest } from '../digest.ts';
import { RelayError } from '../errors.ts';
import { objectKey, type ObjectKind } from '../object-key.ts';
import { awsError, isAwsNotFound } from '../aws/aws-error.ts';
import { verifyDigest } from '../verify-digest.ts';
import { uploadVerifiedMultipart } from './s3-multipart-upload.ts';

/** S3 refuses presigned URLs that live longer than 7 days (SigV4 X-Amz-Expires limit). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Options for {@link S3BlobStore}. */
export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket, without a trailing slash ('' for none). */
  prefix?: string;
  /** Injectable clock (ms since the epoch) for URL expiry. */
  now?: () => number;
}

/**
 * The object store on S3 or an S3-compatible endpoint: `[<prefix>/]<kind>/<alg>/<hex>`, written as
 * a multipart upload fed by the verifying stream and completed only when size and digest matched
 * (design.md §5.4); hosts download through presigned GET URLs.
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly prefix: string;
  #client: S3Client;
  #now: () => number;

  constructor(options: S3BlobStoreOptions) {
    this.#client = options.client;
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/\/+$/, '');
    this.#now = options.now ?? Date.now;
  }

  /** The object key of `digest` in the bucket. */
  key(kind: ObjectKind, digest: Digest): string {
    const key = objectKey(kind, digest);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  async stat(kind: ObjectKind, digest: Digest): Promise<StoredObject | undefined> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(kind, digest) }));
      return { digest, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isAwsNotFound(err)) return undefined;
      throw awsError('STORE_UNAVAILABLE', `S3 HeadObject ${this.key(kind, digest)}`, err);
    }
  }

  /**
   * HEAD first (already stored → done, the source is released unread); otherwise a verified
   * multipart upload. Concurrent puts of one digest each upload their own parts; the object is
   * content-addressed, so whichever completes last writes the same bytes.
   */
  async put(kind: ObjectKind, digest: Digest, size: number, source: Readable): Promise<StoredObject> {
    const existing = await this.stat(kind, digest).catch((err: unknown) => {
      source.destroy();
      throw err;
    });
    if (existing) {
      source.destroy();
      if (existing.size !== size) {
        throw new RelayError('SIZE_MISMATCH', `${digest} is stored with ${existing.size} bytes, not ${size}`, { details: { digest, size } });
      }
      return existing;
    }
    const verified = verifyDigest(digest, size);
    // pipeline carries a source error into the verifier (and so into the upload loop), and destroys
    // the source when the upload loop stops reading early.
    pipeline(source, verified, () => undefined);
    try {
      await uploadVerifiedMultipart({ client: this.#client, bucket: this.bucket, key: this.key(kind, digest) }, verified, size);
    } catch (err) {
      source.destroy();
      throw err;
    }
    return { digest, size };
  }

  /** A presigned GET URL for the object, valid `ttlSeconds` from now (whole seconds). */
  async signUrl(kind: ObjectKind, digest: Digest, ttlSeconds: number): Promise<SignedUrl> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_PRESIGN_SECONDS) {
      throw new RelayError('INTERNAL', `signed URL lifetime must be 1..${MAX_PRESIGN_SECONDS} s, got ${ttlSeconds}`);
    }
    // Sign at a whole second so the reported expiry is exactly the URL's (X-Amz-Date + X-Amz-Expires).
    const signingDate = new Date(Math.floor(this.#now() / 1000) * 1000);
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: this.key(kind, digest) });
    const url = await getSignedUrl(this.#client, command, { expiresIn: ttlSeconds, signingDate });
    return { url, expiresAt: new Date(signingDate.getTime() + ttlSeconds * 1000) };
  }
}
