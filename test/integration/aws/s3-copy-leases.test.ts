import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { S3CopyLeases } from '../../../shared/leases/s3-copy-leases.ts';
import { copyLeasesContract } from '../../support/copy-leases-contract.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';

// fauxqs ignores If-None-Match / If-Match; the conditional-write proxy in front of it (as S3 does) decides.
let aws: TestAws;
beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws.stop();
});

describe('S3CopyLeases: the CopyLeases contract', () => {
  copyLeasesContract(({ ttlMs, now }) => new S3CopyLeases({ client: aws.s3, bucket: aws.bucket, prefix: 'store', ttlMs, now }));
});

describe('S3CopyLeases objects', () => {
  it('sit beside the store\'s blobs under leases/<alg>/<hex>, and a race is decided by a refused conditional put', async () => {
    const digest = digestOf('lease key');
    const leases = new S3CopyLeases({ client: aws.s3, bucket: aws.bucket, prefix: 'store/' });
    expect(leases.key(digest)).toBe(`store/leases/sha256/${digest.slice('sha256:'.length)}`);
    const before = aws.proxy.preconditionFailures;
    const racers = await Promise.all([1, 2, 3].map(() => new S3CopyLeases({ client: aws.s3, bucket: aws.bucket, prefix: 'store' }).tryAcquire(digest)));
    expect(racers.filter(Boolean)).toHaveLength(1);
    expect(aws.proxy.preconditionFailures).toBeGreaterThan(before);
  });
});
