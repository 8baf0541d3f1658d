import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { S3RecordStore } from '../../../shared/records/s3-record-store.ts';
import { startTestAws, TEST_REGION, type TestAws } from '../../support/fauxqs.ts';
import { pullRecord as pull, recordStoreContract } from '../../support/record-store-contract.ts';

let aws: TestAws;
let prefixes = 0;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws.stop();
});

/** A store on its own prefix, so tests do not see each other's records. */
function freshStore(now?: () => Date, prefix = `records-${++prefixes}`): S3RecordStore {
  return new S3RecordStore({ client: aws.s3, bucket: aws.bucket, prefix, now, sleep: async () => undefined });
}

describe('S3RecordStore: the RecordStore contract', () => {
  recordStoreContract((now) => freshStore(now));
});

describe('S3RecordStore conditional writes', () => {
  it('refuses a duplicate id with If-None-Match, not by reading first', async () => {
    const store = freshStore();
    await store.create(pull('p1'));
    const before = aws.proxy.preconditionFailures;
    const err = await store.create(pull('p1', { image: 'harbor.test/other/app:2' })).catch((e: unknown) => e);
    expect(isRelayError(err)).toBe(true);
    expect(aws.proxy.preconditionFailures).toBe(before + 1);
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

  it('answers from the record, not a stale index hint (a crash between the two writes)', async () => {
    const prefix = `records-${++prefixes}`;
    const store = freshStore(undefined, prefix);
    await store.create(pull('p1', { state: 'running' }));
    // The record moves on but its index hint is never written, as if the process died in between.
    const key = `${prefix}/pulls/p1.json`;
    const current = JSON.parse(await (await aws.s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: key }))).Body!.transformToString()) as PullRecord;
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: JSON.stringify({ ...current, state: 'done' }) }));
    expect(await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64')).toBeUndefined();
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'done'))!.id).toBe('p1');
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
