import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { createAwsRelay } from '../../shared/aws/aws-relay.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import { createStatusApp } from './app.ts';

type LambdaHttpHandler = ReturnType<typeof handle>;
let lambda: LambdaHttpHandler | undefined;

/** Built on the first invocation (cold start) and kept for the container's life. */
function build(): LambdaHttpHandler {
  const relay = createAwsRelay(process.env);
  const app = new Hono();
  installErrorHandling(app, relay.log);
  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/', createStatusApp({ records: relay.records, store: relay.store, urlTtlSeconds: relay.config.urlTtlSeconds, log: relay.log, access: relay.access, allowedRegistry: relay.config.harbor.registry }));
  return handle(app);
}

/** Lambda entry of the status function (API Gateway HTTP API, payload 2.0). */
export const handler: LambdaHttpHandler = (event, context) => (lambda ??= build())(event, context);
