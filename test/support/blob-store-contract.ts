import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { BlobStore } from '../../shared/blob-store.ts';
import { digestOf, type Digest } from '../../shared/digest.ts';
import { isRelayError } from '../../shared/errors.ts';
import type { ObjectKind } from '../../shared/object-key.ts';
import { chunked, untouchable } from './readable-sources.ts';
import { rejection } from './rejection.ts';

/** What the contract needs from one adapter's test file. */
export interface BlobStoreHarness {
  /** The store under test, read when each test runs (the file may open a fresh one per test). */
  store(): BlobStore;
  /** The stored bytes, read around the port: the file on disk, or a GET on a signed URL. */
  readBack(kind: ObjectKind, digest: Digest): Promise<Buffer>;
  /** What a failed put could leave half-written: temp files, incomplete multipart uploads. */
  leftovers(): Promise<string[]> | string[];
  /** Bytes the adapter uploads as one piece (an S3 part), so sizes can straddle it; 0 if it has no pieces. */
  pieceBytes: number;
  /** How the test sources cut their bytes. */
  chunkBytes: number;
}

/**
 * The BlobStore port's promises (shared/blob-store.ts), registered as `it`s in the caller's
 * describe: an object is visible only once verified, and a failed write leaves nothing behind.
 */
export function blobStoreContract(harness: BlobStoreHarness): void {
  const { pieceBytes, chunkBytes } = harness;
  const put = (digest: Digest, size: number, bytes: Buffer, failAfter?: Error) =>
    harness.store().put('blobs', digest, size, chunked(bytes, chunkBytes, failAfter));

  it('stores verified bytes in several pieces and stat reports their size', async () => {
    const bytes = randomBytes(2 * pieceBytes + 123_457); // for S3: three parts, the last one short
    const digest = digestOf(bytes);
    expect(await harness.store().stat('blobs', digest)).toBeUndefined();
    expect(await put(digest, bytes.length, bytes)).toEqual({ digest, size: bytes.length });
    expect(await harness.store().stat('blobs', digest)).toEqual({ digest, size: bytes.length });
    expect((await harness.readBack('blobs', digest)).equals(bytes)).toBe(true);
    expect(await harness.leftovers()).toEqual([]);
  });

  it('hashes with the algorithm the digest names (sha512)', async () => {
    const bytes = randomBytes(5000);
    const digest = digestOf(bytes, 'sha512');
    await harness.store().put('files', digest, bytes.length, chunked(bytes, chunkBytes));
    expect(await harness.store().stat('files', digest)).toEqual({ digest, size: bytes.length });
    expect((await harness.readBack('files', digest)).equals(bytes)).toBe(true);
  });

  it('stores an empty object', async () => {
    const empty = digestOf(Buffer.alloc(0));
    expect(await harness.store().put('blobs', empty, 0, Readable.from([]))).toEqual({ digest: empty, size: 0 });
    expect(await harness.store().stat('blobs', empty)).toEqual({ digest: empty, size: 0 });
  });

  it('stores nothing and leaves nothing half-written when the bytes do not match the digest', async () => {
    const bytes = randomBytes(pieceBytes + 10_000); // for S3: one full part is uploaded before the mismatch shows
    const digest = digestOf(randomBytes(16));
    expect(isRelayError(await rejection(put(digest, bytes.length, bytes)), 'DIGEST_MISMATCH')).toBe(true);
    expect(await harness.store().stat('blobs', digest)).toBeUndefined();
    expect(await harness.leftovers()).toEqual([]);
  });

  it('stores nothing when the body is shorter or longer than the size', async () => {
    const bytes = randomBytes(100_000);
    const digest = digestOf(bytes);
    expect(isRelayError(await rejection(put(digest, bytes.length, bytes.subarray(0, 90_000))), 'SIZE_MISMATCH')).toBe(true);
    expect(isRelayError(await rejection(put(digest, bytes.length - 1, bytes)), 'SIZE_MISMATCH')).toBe(true);
    expect(await harness.store().stat('blobs', digest)).toBeUndefined();
    expect(await harness.leftovers()).toEqual([]);
  });

  it('rejects with the source error and leaves nothing half-written when the source fails mid-copy', async () => {
    const bytes = randomBytes(pieceBytes + 50_000);
    const digest = digestOf(bytes);
    const cause = new Error('connection reset');
    expect(await rejection(put(digest, bytes.length + 10, bytes, cause))).toBe(cause);
    expect(await harness.store().stat('blobs', digest)).toBeUndefined();
    expect(await harness.leftovers()).toEqual([]);
  });

  it('returns an object already present without reading the source', async () => {
    const bytes = randomBytes(3000);
    const digest = digestOf(bytes);
    await put(digest, bytes.length, bytes);
    const source = untouchable();
    expect(await harness.store().put('blobs', digest, bytes.length, source)).toEqual({ digest, size: bytes.length });
    expect(source.wasRead()).toBe(false);
    expect(source.destroyed).toBe(true);
  });

  it('survives concurrent puts of the same digest with one intact object', async () => {
    const bytes = randomBytes(pieceBytes + 200_000);
    const digest = digestOf(bytes);
    const results = await Promise.all([1, 2, 3, 4].map(() => put(digest, bytes.length, bytes)));
    for (const result of results) expect(result).toEqual({ digest, size: bytes.length });
    expect((await harness.readBack('blobs', digest)).equals(bytes)).toBe(true);
    expect(await harness.leftovers()).toEqual([]);
  });
}
