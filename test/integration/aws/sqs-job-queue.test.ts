import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isRelayError } from '../../../shared/errors.ts';
import { SqsJobQueue } from '../../../shared/queue/sqs-job-queue.ts';
import type { PullMessage } from '../../../shared/queue-message.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';

let aws: TestAws;
let queue: SqsJobQueue;

beforeAll(async () => {
  aws = await startTestAws({ visibilityTimeout: 2 });
  queue = new SqsJobQueue({ client: aws.sqs, queueUrl: aws.queueUrl });
});
beforeEach(() => {
  aws.fauxqs.reset();
});
afterAll(async () => {
  await aws.stop();
});

function message(pullId: string): PullMessage {
  return { v: 1, pullId, image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64' };
}

function ids(jobs: { body: unknown }[]): string[] {
  return jobs.map((job) => (job.body as PullMessage).pullId);
}

describe('SqsJobQueue (fauxqs over HTTP)', () => {
  it('delivers up to max messages with the body as sent and a receive count of 1', async () => {
    for (const id of ['a', 'b', 'c']) await queue.send(message(id));
    const first = await queue.receive(2);
    expect(first).toHaveLength(2);
    expect(first.map((job) => job.receiveCount)).toEqual([1, 1]);
    const rest = await queue.receive(10);
    expect([...ids(first), ...ids(rest)].sort()).toEqual(['a', 'b', 'c']);
    expect(first.find((job) => (job.body as PullMessage).pullId === 'a')?.body ?? rest.find((job) => (job.body as PullMessage).pullId === 'a')!.body).toEqual(message('a'));
    expect(await queue.receive(10)).toEqual([]);
  });

  it('deletes with the receipt handle', async () => {
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.delete(job!.receipt);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await queue.receive(1)).toEqual([]);
  });

  it('releases a message with no delay for an immediate retry, counting the delivery', async () => {
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.release(job!.receipt, 0);
    const [again] = await queue.receive(1);
    expect(ids([again!])).toEqual(['a']);
    expect(again!.receiveCount).toBe(2);
  });

  it('releases a message to come back only after the delay', async () => {
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.release(job!.receipt, 1);
    expect(await queue.receive(1)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(ids(await queue.receive(1))).toEqual(['a']);
  });

  it('refuses a message that does not match the schema and sends nothing', async () => {
    const err = await queue.send({ ...message('a'), v: 2 } as unknown as PullMessage).catch((e: unknown) => e);
    expect(isRelayError(err, 'INVALID_REQUEST')).toBe(true);
    expect(await queue.receive(10)).toEqual([]);
  });

  it('hands a body that is not JSON to the worker as text, for its schema check to drop', async () => {
    aws.fauxqs.sendMessage(aws.queueName, 'not json');
    const [job] = await queue.receive(1);
    expect(job!.body).toBe('not json');
  });

  it('reports an unreachable queue as QUEUE_UNAVAILABLE', async () => {
    const missing = new SqsJobQueue({ client: aws.sqs, queueUrl: `${aws.fauxqs.address}/000000000000/no-such-queue` });
    const err = await missing.send(message('a')).catch((e: unknown) => e);
    expect(isRelayError(err, 'QUEUE_UNAVAILABLE')).toBe(true);
  });
});
