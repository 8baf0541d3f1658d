import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import { S3BlobStore } from '../../../shared/store/s3-blob-store.ts';
import { PART_SIZE_BYTES, PARTS_IN_FLIGHT } from '../../../shared/store/s3-multipart-upload.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';

let aws: TestAws;
let store: S3BlobStore;

beforeAll(async () => {
  aws = await startTestAws();
  store = new S3BlobStore({ client: aws.s3, bucket: aws.bucket, prefix: 'relay' });
});
afterAll(async () => {
  await aws.stop();
});

/** A source that yields `bytes` in 64 KiB chunks, then optionally fails. */
function chunked(bytes: Buffer, failAfter?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536);
      if (failAfter) throw failAfter;
    })(),
  );
}

/** A source that must not be read. */
function untouchable(): Readable & { wasRead: () => boolean } {
  let read = false;
  const source = new Readable({
    read() {
      read = true;
      this.destroy(new Error('read when it should not have been'));
    },
  });
  return Object.assign(source, { wasRead: () => read });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

async function keys(prefix: string): Promise<string[]> {
  const out = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((item) => item.Key!);
}

describe('S3BlobStore.put (fauxqs over HTTP)', () => {
  it('stores a multi-part object under <prefix>/blobs/<alg>/<hex>, verified, and stat reports its size', async () => {
    const bytes = randomBytes(2 * PART_SIZE_BYTES + 123_457); // three parts, the last one short
    const digest = digestOf(bytes);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await store.put('blobs', digest, bytes.length, chunked(bytes))).toEqual({ digest, size: bytes.length });
    expect(store.key('blobs', digest)).toBe(`relay/blobs/sha256/${digest.slice(7)}`);
    expect(await store.stat('blobs', digest)).toEqual({ digest, size: bytes.length });
    const { url } = await store.signUrl('blobs', digest, 60);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(bytes)).toBe(true);
    expect(aws.incompleteUploads()).toEqual([]);
  });

  it('hashes with the algorithm the digest names (sha512), and stores an empty object', async () => {
    const bytes = randomBytes(5000);
    const digest = digestOf(bytes, 'sha512');
    await store.put('files', digest, bytes.length, chunked(bytes));
    expect(await keys(`relay/files/sha512/${digest.slice(7)}`)).toHaveLength(1);
    const empty = digestOf(Buffer.alloc(0));
    expect(await store.put('blobs', empty, 0, Readable.from([]))).toEqual({ digest: empty, size: 0 });
    expect(await store.stat('blobs', empty)).toEqual({ digest: empty, size: 0 });
  });

  it('leaves no object and no incomplete multipart upload when the bytes do not match the digest', async () => {
    const bytes = randomBytes(PART_SIZE_BYTES + 10_000); // one full part is uploaded before the mismatch shows
    const digest = digestOf(randomBytes(16));
    const err = await rejection(store.put('blobs', digest, bytes.length, chunked(bytes)));
    expect(isRelayError(err, 'DIGEST_MISMATCH')).toBe(true);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await keys(`relay/blobs/sha256/${digest.slice(7)}`)).toEqual([]);
    expect(aws.incompleteUploads()).toEqual([]);
  });

  it('sees the upload while it is in progress, and none once a mismatch aborted it', async () => {
    // Proves the incomplete-upload check is not vacuous: the same observer sees a live upload.
    const good = randomBytes(PART_SIZE_BYTES + 1000);
    const digest = digestOf(good);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const source = Readable.from(
      (async function* () {
        yield good.subarray(0, PART_SIZE_BYTES);
        await gate;
        yield Buffer.alloc(1000, 7); // wrong tail: same length, other bytes
      })(),
    );
    const put = rejection(store.put('blobs', digest, good.length, source));
    for (let i = 0; i < 200 && aws.incompleteUploads().length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(aws.incompleteUploads()).toHaveLength(1);
    release();
    expect(isRelayError(await put, 'DIGEST_MISMATCH')).toBe(true);
    expect(aws.incompleteUploads()).toEqual([]);
    expect(await store.stat('blobs', digest)).toBeUndefined();
  });

  it('stores nothing when the body is shorter or longer than the size', async () => {
    const bytes = randomBytes(100_000);
    const digest = digestOf(bytes);
    expect(isRelayError(await rejection(store.put('blobs', digest, bytes.length, chunked(bytes.subarray(0, 90_000)))), 'SIZE_MISMATCH')).toBe(true);
    expect(isRelayError(await rejection(store.put('blobs', digest, bytes.length - 1, chunked(bytes))), 'SIZE_MISMATCH')).toBe(true);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(aws.incompleteUploads()).toEqual([]);
  });

  it('rejects with the source error and aborts the upload when the source fails mid-copy', async () => {
    const bytes = randomBytes(PART_SIZE_BYTES + 50_000);
    const digest = digestOf(bytes);
    const cause = new Error('connection reset');
    expect(await rejection(store.put('blobs', digest, bytes.length + 10, chunked(bytes, cause)))).toBe(cause);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(aws.incompleteUploads()).toEqual([]);
  });

  it('returns an object already present (HEAD first) without reading the source', async () => {
    const bytes = randomBytes(3000);
    const digest = digestOf(bytes);
    await store.put('blobs', digest, bytes.length, chunked(bytes));
    const source = untouchable();
    expect(await store.put('blobs', digest, bytes.length, source)).toEqual({ digest, size: bytes.length });
    expect(source.wasRead()).toBe(false);
    expect(source.destroyed).toBe(true);
  });

  it('survives concurrent puts of the same digest with one intact object', async () => {
    const bytes = randomBytes(PART_SIZE_BYTES + 4096);
    const digest = digestOf(bytes);
    const results = await Promise.all([1, 2, 3].map(() => store.put('blobs', digest, bytes.length, chunked(bytes))));
    for (const result of results) expect(result).toEqual({ digest, size: bytes.length });
    const { url } = await store.signUrl('blobs', digest, 60);
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(bytes)).toBe(true);
    expect(aws.incompleteUploads()).toEqual([]);
  });

  it(`keeps at most ${PARTS_IN_FLIGHT} parts uploading at once (memory stays flat)`, async () => {
    const counting = new S3BlobStore({ client: aws.s3, bucket: aws.bucket, prefix: 'bounded' });
    let inFlight = 0;
    let peak = 0;
    let parts = 0;
    aws.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'UploadPartCommand') return next(args);
        parts += 1;
        peak = Math.max(peak, ++inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 30)); // a slow store, so the source could run ahead
          return await next(args);
        } finally {
          inFlight -= 1;
        }
      },
      { step: 'initialize', name: 'countParts' },
    );
    try {
      const bytes = randomBytes(5 * PART_SIZE_BYTES);
      await counting.put('blobs', digestOf(bytes), bytes.length, chunked(bytes));
    } finally {
      aws.s3.middlewareStack.remove('countParts');
    }
    expect(parts).toBe(5);
    expect(peak).toBe(PARTS_IN_FLIGHT);
  });
});

describe('S3BlobStore.signUrl', () => {
  it('presigns a GET for the key that expires after the lifetime, in whole seconds', async () => {
    const now = Date.parse('2030-01-01T00:00:00.700Z');
    const clocked = new S3BlobStore({ client: aws.s3, bucket: aws.bucket, now: () => now });
    const digest = digestOf('x');
    const { url, expiresAt } = await clocked.signUrl('blobs', digest, 900);
    const parsed = new URL(url);
    expect(parsed.pathname).toBe(`/${aws.bucket}/blobs/sha256/${digest.slice(7)}`);
    expect(parsed.searchParams.get('X-Amz-Expires')).toBe('900');
    expect(parsed.searchParams.get('X-Amz-Date')).toBe('20300101T000000Z');
    expect(expiresAt.toISOString()).toBe('2030-01-01T00:15:00.000Z');
  });

  it('refuses lifetimes S3 cannot sign', async () => {
    await expect(store.signUrl('blobs', digestOf('x'), 0)).rejects.toThrow(/lifetime/);
    await expect(store.signUrl('blobs', digestOf('x'), 8 * 24 * 3600)).rejects.toThrow(/lifetime/);
  });

  it('reports a missing bucket as STORE_UNAVAILABLE, not as a missing object', async () => {
    const nowhere = new S3BlobStore({ client: aws.s3, bucket: 'no-such-bucket' });
    const bytes = Buffer.from('abc');
    const err = await rejection(nowhere.put('blobs', digestOf(bytes), 3, Readable.from([bytes])));
    expect(isRelayError(err, 'STORE_UNAVAILABLE')).toBe(true);
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'unrelated', Body: 'x' })); // the server itself is fine
  });
});
