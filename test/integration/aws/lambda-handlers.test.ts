import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { pollOnce } from '../../support/fauxqs-lambda-poller.ts';
import { httpContext, httpEvent } from '../../support/lambda-http-event.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushUniqueImage } from '../../support/unique-image.ts';

const { standIn } = useStandIn();
let aws: TestAws;
let handlers: {
  api: typeof import('../../../functions/api/handler.ts').handler;
  status: typeof import('../../../functions/status/handler.ts').handler;
  worker: typeof import('../../../functions/worker/handler.ts').handler;
};

const context = httpContext;

beforeAll(async () => {
  aws = await startTestAws();
  // The handlers read process.env on their first invocation, exactly as in Lambda (this file runs in its own worker).
  Object.assign(process.env, aws.env({ RELAY_AUTH: 'none', LOG_LEVEL: 'error', HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.robot.username, HARBOR_PASSWORD: standIn.users.robot.password }));
  handlers = {
    api: (await import('../../../functions/api/handler.ts')).handler,
    status: (await import('../../../functions/status/handler.ts')).handler,
    worker: (await import('../../../functions/worker/handler.ts')).handler,
  };
});
afterAll(async () => {
  await aws?.stop();
});

describe('the Lambda handlers, wired from the environment', () => {
  it('queue a pull (api), relay it from an SQS batch (worker) and serve it with presigned URLs (status)', async () => {
    const { ref, image } = await pushUniqueImage(standIn, 'lambda-handlers');
    const posted = await handlers.api(httpEvent('POST', '/v1/pulls', { image: ref }), context);
    expect(posted.statusCode).toBe(202);
    const id = (JSON.parse(posted.body) as PullRecord).id;

    const polled = (await pollOnce(aws.sqs, aws.queueUrl, (event, ctx) => handlers.worker(event, ctx)))!;
    expect(polled.response).toEqual({ batchItemFailures: [] });

    const shown = await handlers.status(httpEvent('GET', `/v1/pulls/${id}`), context);
    expect(shown.statusCode).toBe(200);
    const record = JSON.parse(shown.body) as PullRecord;
    expect(record.state).toBe('done');
    expect(record.layers.map((layer) => layer.digest)).toEqual(image.layers.map((layer) => layer.digest));
    const bytes = Buffer.from(await (await fetch(record.layers[1]!.url!)).arrayBuffer());
    expect(bytes.length).toBe(image.layers[1]!.size);
    expect((await handlers.status(httpEvent('GET', '/healthz'), context)).statusCode).toBe(200);
  });
});
