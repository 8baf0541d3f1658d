import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../../functions/api/app.ts';
import { createAwsRelay, type AwsRelay } from '../../../shared/aws/aws-relay.ts';
import { createLogger } from '../../../shared/log.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushUniqueImage } from '../../support/unique-image.ts';

const { standIn } = useStandIn();
let aws: TestAws;
let relay: AwsRelay;

beforeAll(async () => {
  aws = await startTestAws();
  relay = createAwsRelay(aws.env({ RELAY_AUTH: 'none', HARBOR_URL: standIn.url }), { log: createLogger({ write: () => undefined }) });
});
afterAll(async () => {
  await aws?.stop();
});

function queued(): number {
  const queue = aws.fauxqs.inspectQueue(aws.queueName)!;
  return queue.messages.ready.length + queue.messages.inflight.length + queue.messages.delayed.length;
}

async function pullRecordsOf(image: string): Promise<PullRecord[]> {
  const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: 'records/pulls/' }));
  const records = await Promise.all((listed.Contents ?? []).map(async (object) => relay.records.get(decodeURIComponent(object.Key!.slice('records/pulls/'.length, -'.json'.length)))));
  return records.filter((record): record is PullRecord => record?.image === image);
}

/** `n` api containers (each its own app, sharing only S3 and SQS, as in Lambda) POST the same pull at once. */
async function wave(image: string, n: number): Promise<{ status: number; body: PullRecord & { error?: { code: string } } }[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const api = createApiApp({ allowedRegistry: relay.config.harbor.registry, records: relay.records, queue: relay.queue, store: relay.store, urlTtlSeconds: 900, log: relay.log, access: relay.access });
      const response = await api.request('/v1/pulls', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) });
      return { status: response.status, body: (await response.json()) as PullRecord & { error?: { code: string } } };
    }),
  );
}

describe('identical pulls on the S3 record store (design.md §4: an active identical pull answers instead of a new one)', () => {
  it('40 hosts posting the same image at once get one pull, one queue message, and no stray record', async () => {
    const { ref } = await pushUniqueImage(standIn, 'dedupe-wave');
    const before = queued();
    const answers = await wave(ref, 40);
    expect(answers.filter((answer) => answer.status !== 202)).toEqual([]);
    expect(new Set(answers.map((answer) => answer.body.id)).size).toBe(1);
    expect(queued() - before).toBe(1);
    expect(await pullRecordsOf(ref)).toHaveLength(1);
  });

  it('once the active pull has finished, the next request queues a new one', async () => {
    const { ref } = await pushUniqueImage(standIn, 'dedupe-after');
    const [first] = await wave(ref, 1);
    await relay.records.update(first!.body.id, { state: 'done' });
    const [second] = await wave(ref, 1);
    expect(second!.status).toBe(202);
    expect(second!.body.id).not.toBe(first!.body.id);
    expect((await wave(ref, 3)).map((answer) => answer.body.id)).toEqual([second!.body.id, second!.body.id, second!.body.id]);
  });

  it('a marker left by an api that died before writing its record is taken over once it is stale', async () => {
    const { ref } = await pushUniqueImage(standIn, 'dedupe-stale');
    const platform = 'linux/amd64';
    const key = `records/active/${createHash('sha256').update(`${ref}\n${platform}`).digest('hex')}.json`;
    await aws.s3.send(new PutObjectCommand({ Bucket: aws.bucket, Key: key, Body: JSON.stringify({ id: 'died-before-its-record', createdAt: new Date(Date.now() - 3_600_000).toISOString() }) }));
    const [answer] = await wave(ref, 1);
    expect(answer!.status).toBe(202);
    expect(answer!.body.id).not.toBe('died-before-its-record');
    expect(await relay.records.get(answer!.body.id)).toMatchObject({ state: 'queued' });
  });
});
