import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import { S3BlobStore } from '../../../shared/store/s3-blob-store.ts';
import { PART_SIZE_BYTES, PARTS_IN_FLIGHT } from '../../../shared/store/s3-multipart-upload.ts';
import { blobStoreContract } from '../../support/blob-store-contract.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { chunked } from '../../support/readable-sources.ts';
import { rejection } from '../../support/rejection.ts';

let aws: TestAws;
let store: S3BlobStore;

beforeAll(async () => {
  aws = await startTestAws();
  store = new S3BlobStore({ client: aws.s3, bucket: aws.bucket, prefix: 'relay' });
});
afterAll(async () => {
  await aws.stop();
});

async function keys(prefix: string): Promise<string[]> {
  const out = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((item) => item.Key!);
}

describe('S3BlobStore (fauxqs over HTTP): the BlobStore contract', () => {
  blobStoreContract({
    store: () => store,
    readBack: async (kind, digest) => {
      const { url } = await store.signUrl(kind, digest, 60);
      return Buffer.from(await (await fetch(url)).arrayBuffer());
    },
    leftovers: () => aws.incompleteUploads(),
    pieceBytes: PART_SIZE_BYTES,
    chunkBytes: 65_536,
  });
});

describe('S3BlobStore.put (fauxqs over HTTP)', () => {
  it('lays objects out under <prefix>/<kind>/<alg>/<hex>', async () => {
    const bytes = randomBytes(5000);
    const objects = [['blobs', digestOf(bytes)], ['files', digestOf(bytes, 'sha512')]] as const;
    for (const [kind, digest] of objects) {
      await store.put(kind, digest, bytes.length, Readable.from([bytes]));
      const key = `relay/${kind}/${digest.replace(':', '/')}`;
      expect(store.key(kind, digest)).toBe(key);
      expect(await keys(key)).toEqual([key]);
    }
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
      await counting.put('blobs', digestOf(bytes), bytes.length, chunked(bytes, 65_536));
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
