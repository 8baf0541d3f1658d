import { createHash } from 'node:crypto';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiApp } from '../../../functions/api/app.ts';
import { createStatusApp } from '../../../functions/status/app.ts';
import { createSqsBatchHandler } from '../../../functions/worker/sqs-batch-handler.ts';
import { createDeadLetterHandler } from '../../../functions/worker/sqs-dead-letter-handler.ts';
import { createAwsRelay, type AwsRelay } from '../../../shared/aws/aws-relay.ts';
import { parseDigest } from '../../../shared/digest.ts';
import { createLogger } from '../../../shared/log.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { pollOnce } from '../../support/fauxqs-lambda-poller.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushUniqueImage } from '../../support/unique-image.ts';

const { standIn } = useStandIn();
const MAX_ATTEMPTS = 3;

let aws: TestAws;
let proxy: FaultProxy;
let relay: AwsRelay;
const logs: string[] = [];

beforeAll(async () => {
  aws = await startTestAws({ maxReceiveCount: MAX_ATTEMPTS });
  proxy = await startFaultProxy({ target: standIn.url });
  relay = createAwsRelay(
    aws.env({ RELAY_AUTH: 'none', HARBOR_URL: proxy.url, HARBOR_USERNAME: standIn.users.robot.username, HARBOR_PASSWORD: standIn.users.robot.password, RELAY_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }),
    { log: createLogger({ level: 'debug', write: (line) => logs.push(line) }) },
  );
});
afterAll(async () => {
  await proxy?.stop();
  await aws?.stop();
});

/** The worker as Lambda runs it, with immediate retries (backoff 0) so tests do not wait. */
async function worker(from: AwsRelay = relay, deadlineMarginMs?: number) {
  return createSqsBatchHandler({
    relay: { registry: await from.registry(), store: from.store, records: from.records, copies: from.copies, log: from.log, limits: from.config.limits },
    maxAttempts: MAX_ATTEMPTS,
    concurrency: 2,
    retryBaseDelaySeconds: 0,
    ...(deadlineMarginMs === undefined ? {} : { deadlineMarginMs }),
    delayRetry: (receipt, delaySeconds) => from.queue.release(receipt, delaySeconds),
  });
}

async function postPull(image: string, platform = 'linux/amd64'): Promise<{ status: number; body: PullRecord }> {
  const api = createApiApp({ allowedRegistry: relay.config.harbor.registry, records: relay.records, queue: relay.queue, store: relay.store, urlTtlSeconds: relay.config.urlTtlSeconds, log: relay.log, access: relay.access });
  const response = await api.request('/v1/pulls', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image, platform }) });
  return { status: response.status, body: (await response.json()) as PullRecord };
}

async function getStatus(path: string): Promise<Response> {
  return createStatusApp({ records: relay.records, store: relay.store, urlTtlSeconds: relay.config.urlTtlSeconds, log: relay.log, access: relay.access, allowedRegistry: relay.config.harbor.registry }).request(path);
}

/** Polls the queue like Lambda's event source mapping until the pull is finished. */
async function driveUntilFinished(id: string, polls = 10): Promise<PullRecord> {
  const handler = await worker();
  for (let i = 0; i < polls; i++) {
    const record = (await relay.records.get(id))!;
    if (record.state === 'done' || record.state === 'failed') return record;
    await pollOnce(aws.sqs, aws.queueUrl, handler);
  }
  return (await relay.records.get(id))!;
}

function queueDepth(name: string): number {
  const queue = aws.fauxqs.inspectQueue(name)!;
  return queue.messages.ready.length + queue.messages.inflight.length + queue.messages.delayed.length;
}

describe('AWS mode end to end (SQS + S3 on fauxqs, the real registry behind the stand-in)', () => {
  it('relays a pull through the queue into verified objects and hands out a presigned URL with the right bytes', async () => {
    const { ref, image } = await pushUniqueImage(standIn, 'aws-e2e');
    const posted = await postPull(ref.replace(standIn.host, proxy.host));
    expect(posted.status).toBe(202);
    const done = await driveUntilFinished(posted.body.id);
    expect(done.state).toBe('done');
    expect(done.layers.map((layer) => layer.digest)).toEqual(image.layers.map((layer) => layer.digest));

    const shown = (await (await getStatus(`/v1/pulls/${done.id}`)).json()) as PullRecord;
    for (const [i, layer] of shown.layers.entries()) {
      const bytes = Buffer.from(await (await fetch(layer.url!)).arrayBuffer());
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
      expect(bytes.length).toBe(image.layers[i]!.size);
    }
    const blob = await getStatus(`/v1/blobs/${done.layers[0]!.digest}?redirect=1`);
    expect(blob.status).toBe(307);
    expect(new URL(blob.headers.get('location')!).searchParams.get('X-Amz-Expires')).toBe(String(relay.config.urlTtlSeconds));
    expect(aws.incompleteUploads()).toEqual([]);
    expect(queueDepth(aws.queueName)).toBe(0);
    // Structured logs name the pull, the image and each copied digest; the robot password never appears.
    const copied = logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.message === 'blob copied' && entry.pullId === done.id);
    expect(copied).toMatchObject({ pullId: done.id, image: done.image, digest: done.layers[0]!.digest });
    expect(logs.join('\n')).not.toContain(standIn.users.robot.password);
  });

  it('a digest mismatch leaves no object and no incomplete multipart upload, and fails the pull on its last delivery', async () => {
    const { ref, repository, image } = await pushUniqueImage(standIn, 'aws-mismatch');
    const layer = image.layers[1]!;
    proxy.addRule({ match: { method: 'GET', path: `/v2/${repository}/blobs/${layer.digest}` }, action: { type: 'flipByte' } });
    const posted = await postPull(ref.replace(standIn.host, proxy.host));
    const record = await driveUntilFinished(posted.body.id);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe('DIGEST_MISMATCH');
    expect(await relay.store.stat('blobs', parseDigest(layer.digest))).toBeUndefined();
    const listed = await aws.s3.send(new ListObjectsV2Command({ Bucket: aws.bucket, Prefix: relay.store.key('blobs', parseDigest(layer.digest)) }));
    expect(listed.Contents ?? []).toEqual([]);
    expect(aws.incompleteUploads()).toEqual([]);
    // The final-attempt check recorded the outcome, so the message was deleted, not dead-lettered.
    expect(queueDepth(aws.queueName)).toBe(0);
    expect(queueDepth(aws.dlqName)).toBe(0);
  });

  it('a batch with one bad message reports exactly that one as a batch item failure', async () => {
    const good = await pushUniqueImage(standIn, 'aws-batch-good');
    const bad = await pushUniqueImage(standIn, 'aws-batch-bad');
    // The bad image's registry answers 503 (retryable): its delivery must go back, alone.
    proxy.addRule({ match: { path: new RegExp(`^/v2/${bad.repository}/manifests/`) }, action: { type: 'status', status: 503 } });
    const goodPull = await postPull(good.ref.replace(standIn.host, proxy.host));
    const badPull = await postPull(bad.ref.replace(standIn.host, proxy.host));
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: 'not json at all' })); // dropped, not retried
    const polled = (await pollOnce(aws.sqs, aws.queueUrl, await worker()))!;
    expect(polled.event.Records).toHaveLength(3);
    const badMessage = polled.event.Records.find((record) => record.body.includes(badPull.body.id))!;
    expect(polled.response!.batchItemFailures).toEqual([{ itemIdentifier: badMessage.messageId }]);
    expect((await relay.records.get(goodPull.body.id))!.state).toBe('done');
    expect(await relay.records.get(badPull.body.id)).toMatchObject({ state: 'queued', error: { code: 'REGISTRY_UNAVAILABLE' } });
    proxy.clearRules();
    expect((await driveUntilFinished(badPull.body.id)).state).toBe('done');
  });

  it('a poisoned message ends in the dead-letter queue, and its consumer marks the pull failed', async () => {
    const { ref } = await pushUniqueImage(standIn, 'aws-poison');
    const posted = await postPull(ref.replace(standIn.host, proxy.host));
    // A worker whose record store is unreachable can reach no outcome on any delivery.
    const broken = createAwsRelay(aws.env({ RELAY_AUTH: 'none', HARBOR_URL: proxy.url, RELAY_RECORDS: 's3://no-such-bucket/records', RELAY_MAX_ATTEMPTS: String(MAX_ATTEMPTS) }), {
      log: createLogger({ write: () => undefined }),
    });
    const seen: number[] = [];
    for (let i = 0; i < MAX_ATTEMPTS + 2; i++) {
      const polled = await pollOnce(aws.sqs, aws.queueUrl, await worker(broken));
      if (!polled) break;
      seen.push(Number(polled.event.Records[0]!.attributes.ApproximateReceiveCount));
      expect(polled.response!.batchItemFailures).toHaveLength(1);
    }
    expect(seen).toEqual([1, 2, 3]);
    expect(queueDepth(aws.queueName)).toBe(0);
    expect(aws.fauxqs.inspectQueue(aws.dlqName)!.messages.ready).toHaveLength(1);
    expect((await relay.records.get(posted.body.id))!.state).toBe('queued');

    const deadLetters = createDeadLetterHandler({ records: relay.records, log: relay.log });
    const polled = (await pollOnce(aws.sqs, `${aws.fauxqs.address}/000000000000/${aws.dlqName}`, async (event) => deadLetters(event)))!;
    expect(polled.response!.batchItemFailures).toEqual([]);
    expect(await relay.records.get(posted.body.id)).toMatchObject({ state: 'failed', error: { code: 'DEAD_LETTERED' } });
    expect(queueDepth(aws.dlqName)).toBe(0);
  });

  it('stops a slow copy before the Lambda deadline, aborts its upload and leaves the message for a retry', async () => {
    const { ref, repository, image } = await pushUniqueImage(standIn, 'aws-deadline');
    const layer = image.layers[1]!;
    proxy.addRule({ match: { method: 'GET', path: `/v2/${repository}/blobs/${layer.digest}` }, times: 1, action: { type: 'throttle', bytesPerSecond: 32 * 1024 } });
    const posted = await postPull(ref.replace(standIn.host, proxy.host));
    const started = Date.now();
    // 3 s left in the invocation, stop 2 s before: the 256 KiB layer at 32 KiB/s cannot make it.
    const polled = (await pollOnce(aws.sqs, aws.queueUrl, await worker(relay, 2000), { remainingMs: 3000 }))!;
    expect(Date.now() - started).toBeLessThan(3000);
    expect(polled.response!.batchItemFailures).toHaveLength(1);
    expect(await relay.records.get(posted.body.id)).toMatchObject({ state: 'queued', error: { code: 'DEADLINE_EXCEEDED' } });
    expect(await relay.store.stat('blobs', parseDigest(layer.digest))).toBeUndefined();
    expect(aws.incompleteUploads()).toEqual([]);
    expect((await driveUntilFinished(posted.body.id)).state).toBe('done');
  });
});
