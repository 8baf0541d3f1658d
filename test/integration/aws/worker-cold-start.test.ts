import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { pollOnce } from '../../support/fauxqs-lambda-poller.ts';

/** Long, so a batch that was not handed back with a short delay is told apart at once. */
const VISIBILITY_TIMEOUT_SECONDS = 5400;

let aws: TestAws;
let ssm: Server;
let ssmRequests = 0;
let handler: typeof import('../../../functions/worker/handler.ts').handler;

beforeAll(async () => {
  aws = await startTestAws({ visibilityTimeout: VISIBILITY_TIMEOUT_SECONDS });
  // An SSM endpoint that throttles every GetParameter, as at a burst of cold starts (40 TPS by default).
  ssm = createServer((req, res) => {
    ssmRequests += 1;
    req.resume();
    res.writeHead(400, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify({ __type: 'ThrottlingException', message: 'Rate exceeded' }));
  });
  await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
  Object.assign(
    process.env,
    aws.env({
      RELAY_AUTH: 'none',
      LOG_LEVEL: 'error',
      HARBOR_URL: 'http://127.0.0.1:9',
      HARBOR_CREDENTIALS_PARAMETER: '/layer-relay/harbor',
      // The SDK's service-specific endpoint variable: every SSM call goes to the local server above.
      AWS_ENDPOINT_URL_SSM: `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`,
    }),
  );
  handler = (await import('../../../functions/worker/handler.ts')).handler;
});
afterAll(async () => {
  ssm?.closeAllConnections();
  await new Promise<void>((resolve) => (ssm ? ssm.close(() => resolve()) : resolve()));
  await aws?.stop();
});

describe('a worker that cannot start', () => {
  it('hands every message of the batch back with a short delay and reports them all, instead of throwing', async () => {
    for (const n of [1, 2]) {
      await aws.sqs.send(new SendMessageCommand({ QueueUrl: aws.queueUrl, MessageBody: JSON.stringify({ v: 1, pullId: `cold-${n}`, image: '127.0.0.1:9/team/app:v1', platform: 'linux/amd64' }) }));
    }
    const polled = (await pollOnce(aws.sqs, aws.queueUrl, (event, context) => handler(event, context)))!;
    expect(ssmRequests).toBeGreaterThan(0);
    expect(polled.response).toBeDefined();
    expect(polled.response!.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(polled.event.Records.map((record) => record.messageId).sort());
    const inflight = aws.fauxqs.inspectQueue(aws.queueName)!.messages.inflight;
    expect(inflight).toHaveLength(2);
    for (const message of inflight) expect(message.visibilityDeadline - Date.now()).toBeLessThan(60_000);
  });
});
