import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { S3RecordStore } from '../../../shared/records/s3-record-store.ts';
import { startTestAws, TEST_REGION, type TestAws } from '../../support/fauxqs.ts';

let aws: TestAws;
let clock = Date.parse('2030-01-01T00:00:00Z');
let prefixes = 0;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws.stop();
});

/** A store on its own prefix, so tests do not see each other's records. */
function freshStore(prefix = `records-${++prefixes}`): S3RecordStore {
  return new S3RecordStore({ client: aws.s3, bucket: aws.bucket, prefix, now: () => new Date(clock), sleep: async () => undefined });
}

function pull(id: string, overrides: Partial<PullRecord> = {}): PullRecord {
  const at = new Date(clock).toISOString();
  return { id, image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64', state: 'queued', layers: [], createdAt: at, updatedAt: at, ...overrides };
}

describe('S3RecordStore pulls', () => {
  it('creates and gets a record unchanged', async () => {
    const store = freshStore();
    const record = pull('p1', { layers: [{ digest: digestOf('x'), size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
    await store.create(record);
    expect(await store.get('p1')).toEqual(record);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('refuses a duplicate id (If-None-Match) and keeps the first record', async () => {
    const store = freshStore();
    await store.create(pull('p1'));
    const before = aws.proxy.preconditionFailures;
    const err = await store.create(pull('p1', { image: 'harbor.test/other/app:2' })).catch((e: unknown) => e);
    expect(isRelayError(err)).toBe(true);
    expect(aws.proxy.preconditionFailures).toBe(before + 1);
    expect((await store.get('p1'))!.image).toBe('harbor.test/proj/app:1.0');
  });

  it('updates: merges the patch, bumps updatedAt, keeps id and createdAt, removes undefined fields', async () => {
    const store = freshStore();
    const created = pull('p1', { error: { code: 'INTERNAL', message: 'earlier try' } });
    await store.create(created);
    clock += 5000;
    const updated = await store.update('p1', { state: 'running', bytesDone: 10, error: undefined, ...({ id: 'other', createdAt: 'forged' } as object) });
    expect(updated).toEqual({ ...created, state: 'running', bytesDone: 10, error: undefined, updatedAt: new Date(clock).toISOString() });
    expect('error' in updated).toBe(false);
    expect(await store.get('p1')).toEqual(updated);
  });

  it('fails to update a missing record with NOT_FOUND', async () => {
    const err = await freshStore().update('ghost', { state: 'done' }).catch((e: unknown) => e);
    expect(isRelayError(err, 'NOT_FOUND')).toBe(true);
  });

  it('loses no field when three writers (api, worker, a redelivery) update one record at once', async () => {
    const prefix = `records-${++prefixes}`;
    const store = () => new S3RecordStore({ client: aws.s3, bucket: aws.bucket, prefix });
    await store().create(pull('p1'));
    const before = aws.proxy.preconditionFailures;
    const rounds = 8;
    // Each writer updates its own field in sequence, as one process does; the three run at once.
    const writer = async (patch: (round: number) => Partial<PullRecord>) => {
      const mine = store();
      for (let round = 1; round <= rounds; round++) await mine.update('p1', patch(round));
    };
    await Promise.all([writer((n) => ({ bytesDone: n })), writer((n) => ({ bytesTotal: n })), writer((n) => ({ manifestDigest: digestOf(`m${n}`) }))]);
    expect(await store().get('p1')).toMatchObject({ bytesDone: rounds, bytesTotal: rounds, manifestDigest: digestOf(`m${rounds}`) });
    // The conflict path really ran: writes were refused with 412 and retried from a fresh read.
    expect(aws.proxy.preconditionFailures).toBeGreaterThan(before);
  });

  it('finds the newest queued or running pull of an image and platform', async () => {
    const store = freshStore();
    await store.create(pull('old', { state: 'running' }));
    clock += 1000;
    await store.create(pull('new'));
    clock += 1000;
    await store.create(pull('done', { state: 'done' }));
    await store.create(pull('arm', { platform: 'linux/arm64' }));
    await store.create(pull('other', { image: 'harbor.test/proj/app:2.0' }));
    expect((await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64'))!.id).toBe('new');
    await store.update('new', { state: 'failed' });
    expect((await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64'))!.id).toBe('old');
    await store.update('old', { state: 'done' });
    expect(await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64')).toBeUndefined();
  });

  it('finds the newest pull in a given state', async () => {
    const store = freshStore();
    await store.create(pull('first', { state: 'done' }));
    clock += 1000;
    await store.create(pull('second', { state: 'done' }));
    clock += 1000;
    await store.create(pull('third', { state: 'failed' }));
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'done'))!.id).toBe('second');
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'failed'))!.id).toBe('third');
    expect(await store.findLatest('harbor.test/proj/app:1.0', 'linux/arm64', 'done')).toBeUndefined();
  });

  it('answers from the record, not a stale index hint (a crash between the two writes)', async () => {
    const prefix = `records-${++prefixes}`;
    const store = freshStore(prefix);
    await store.create(pull('p1', { state: 'running' }));
    // The record moves on but its index hint is never written, as if the process died in between.
    const key = `${prefix}/pulls/p1.json`;
    const current = JSON.parse(await (await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }))).Body!.transformToString()) as PullRecord;
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: JSON.stringify({ ...current, state: 'done' }) }));
    expect(await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64')).toBeUndefined();
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'done'))!.id).toBe('p1');
  });
});

describe('S3RecordStore blobs', () => {
  const digest = digestOf('layer bytes');

  it('returns undefined for an unknown digest', async () => {
    expect(await freshStore().getBlob(digest)).toBeUndefined();
  });

  it('merges repositories as a set and keeps the media type, also under concurrent writers', async () => {
    const store = freshStore();
    await store.putBlob({ digest, size: 11, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', repositories: ['harbor.test/proj/a'] });
    await Promise.all(['b', 'c', 'd', 'a'].map((name) => store.putBlob({ digest, size: 11, repositories: [`harbor.test/proj/${name}`] })));
    const blob = (await store.getBlob(digest))!;
    expect(blob.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect([...blob.repositories].sort()).toEqual(['a', 'b', 'c', 'd'].map((name) => `harbor.test/proj/${name}`));
  });
});

describe('fauxqs conditional writes (why the tests put a proxy in front of it)', () => {
  it('fauxqs alone accepts a write whose If-Match names a stale ETag', async () => {
    const direct = new S3Client({ region: TEST_REGION, endpoint: aws.fauxqs.address, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await direct.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'gap/doc', Body: 'one' }));
      const stale = await direct.send(new PutObjectCommand({ Bucket: aws.bucket, Key: 'gap/doc', Body: 'two', IfMatch: '"not-the-etag"' }));
      // Real S3 answers 412 here. If fauxqs ever starts to, drop the proxy and test against it directly.
      expect(stale.ETag).toBeDefined();
    } finally {
      direct.destroy();
    }
  });
});
