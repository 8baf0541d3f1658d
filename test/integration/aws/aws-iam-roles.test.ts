import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeadLetterHandler } from '../../../functions/worker/sqs-dead-letter-handler.ts';
import { createAwsRelay } from '../../../shared/aws/aws-relay.ts';
import { createLogger } from '../../../shared/log.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { pollOnce } from '../../support/fauxqs-lambda-poller.ts';
import { startIamProxy, type IamProxy } from '../../support/iam-proxy.ts';
import { httpContext, httpEvent } from '../../support/lambda-http-event.ts';
import { PACKAGE_TIMEOUT_MS, packageService, type PackagedService } from '../../support/packaged-service.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushImageAs, randomImage, uniqueRepository } from '../auth/relay-http.ts';

const { standIn } = useStandIn();
let packaged: PackagedService;
let aws: TestAws;
let iam: IamProxy;
let handlers: {
  api: typeof import('../../../functions/api/handler.ts').handler;
  status: typeof import('../../../functions/status/handler.ts').handler;
  worker: typeof import('../../../functions/worker/handler.ts').handler;
};

/** The environment Lambda gives a function running as `role` (its logical id is the access key the IAM proxy reads). */
function roleEnv(role: string): Record<string, string> {
  return aws.env({
    S3_ENDPOINT: iam.url,
    AWS_ACCESS_KEY_ID: role,
    RELAY_AUTH: 'none',
    LOG_LEVEL: 'error',
    HARBOR_URL: standIn.url,
    HARBOR_USERNAME: standIn.users.robot.username,
    HARBOR_PASSWORD: standIn.users.robot.password,
  });
}

beforeAll(async () => {
  packaged = packageService();
  aws = await startTestAws();
  iam = await startIamProxy(aws.s3Endpoint, packaged.templatePath, aws.bucket);
  handlers = {
    api: (await import('../../../functions/api/handler.ts')).handler,
    status: (await import('../../../functions/status/handler.ts')).handler,
    worker: (await import('../../../functions/worker/handler.ts')).handler,
  };
  // Each handler wires itself from process.env on its first invocation: invoke each once under its own role.
  Object.assign(process.env, roleEnv('ApiRole'));
  expect((await handlers.api(httpEvent('POST', '/v1/pulls', {}), httpContext)).statusCode).toBe(400);
  Object.assign(process.env, roleEnv('StatusRole'));
  expect((await handlers.status(httpEvent('GET', '/healthz'), httpContext)).statusCode).toBe(200);
  Object.assign(process.env, roleEnv('WorkerRole'));
}, PACKAGE_TIMEOUT_MS);
afterAll(async () => {
  await iam?.stop();
  await aws?.stop();
  packaged?.remove();
});

async function post(image: string): Promise<{ status: number; record: PullRecord }> {
  const answer = await handlers.api(httpEvent('POST', '/v1/pulls', { image }), httpContext);
  return { status: answer.statusCode, record: JSON.parse(answer.body) as PullRecord };
}

async function show(id: string): Promise<PullRecord> {
  return JSON.parse((await handlers.status(httpEvent('GET', `/v1/pulls/${id}`), httpContext)).body) as PullRecord;
}

async function statusOf(url: string): Promise<number> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return response.status;
}

describe('the Lambda functions under the IAM roles of the packaged template (S3 behind an IAM proxy)', () => {
  it('a single-layer artifact: api queues, worker copies and lists files, status and api sign URLs that download — nothing denied', async () => {
    const image = await randomImage();
    const ref = await pushImageAs(standIn, uniqueRepository('team', 'iam'), image);
    const pinned = `${ref.replace(/:v1$/, '')}@${image.digest}`;

    const posted = await post(pinned);
    expect(posted.status).toBe(202);
    expect((await pollOnce(aws.sqs, aws.queueUrl, (event, context) => handlers.worker(event, context)))!.response).toEqual({ batchItemFailures: [] });
    const shown = await show(posted.record.id);
    expect(shown.state).toBe('done');
    expect(shown.filesError).toBeUndefined();
    expect(shown.files?.length).toBeGreaterThan(0);
    expect(await statusOf(shown.layers[0]!.url!)).toBe(200);
    expect(await statusOf(shown.files![0]!.url!)).toBe(200);

    // Pinned by digest and stored: the api answers 200 with URLs it signs itself.
    const again = await post(pinned);
    expect(again.status).toBe(200);
    expect(await statusOf(again.record.layers[0]!.url!)).toBe(200);
    expect(await statusOf(again.record.files![0]!.url!)).toBe(200);

    expect(iam.denied()).toEqual([]);
    // The proxy did judge every function's requests (a test that passes with the proxy bypassed proves nothing).
    const roles = new Set(iam.decisions.map((decision) => decision.role));
    for (const role of ['ApiRole', 'StatusRole', 'WorkerRole']) expect(roles).toContain(role);
    expect(iam.decisions.some((decision) => decision.role === 'WorkerRole' && decision.resource.includes('/files/') && decision.action === 's3:PutObject')).toBe(true);
  });

  it('the dead-letter consumer marks a dead-lettered pull failed under its own role', async () => {
    const before = iam.decisions.length;
    const ref = await pushImageAs(standIn, uniqueRepository('team', 'iam-dlq'), await randomImage());
    const posted = await post(ref);
    // What SQS's redrive does after maxReceiveCount deliveries: the message moves to the DLQ as it is.
    const received = await aws.sqs.send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl, MaxNumberOfMessages: 1 }));
    const dlqUrl = `${aws.fauxqs.address}/000000000000/${aws.dlqName}`;
    await aws.sqs.send(new SendMessageCommand({ QueueUrl: dlqUrl, MessageBody: received.Messages![0]!.Body! }));

    const relay = createAwsRelay(roleEnv('DeadLettersRole'), { log: createLogger({ write: () => undefined }) });
    const deadLetters = createDeadLetterHandler({ records: relay.records, log: relay.log });
    expect((await pollOnce(aws.sqs, dlqUrl, async (event) => deadLetters(event)))!.response).toEqual({ batchItemFailures: [] });
    expect(await show(posted.record.id)).toMatchObject({ state: 'failed', error: { code: 'DEAD_LETTERED' } });
    expect(iam.decisions.slice(before).filter((decision) => !decision.allowed)).toEqual([]);
    expect(iam.decisions.some((decision) => decision.role === 'DeadLettersRole' && decision.action === 's3:PutObject')).toBe(true);
  });
});
