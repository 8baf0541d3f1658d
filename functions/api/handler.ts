import { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { createAwsRelay } from '../../shared/aws/aws-relay.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import { createApiApp } from './app.ts';

type LambdaHttpHandler = ReturnType<typeof handle>;
let lambda: LambdaHttpHandler | undefined;

/** Built on the first invocation (cold start) and kept for the container's life. */
function build(): LambdaHttpHandler {
  const relay = createAwsRelay(process.env);
  const { config, log } = relay;
  const app = new Hono();
  installErrorHandling(app, log);
  const webhook = { secret: config.webhookSecret, platforms: config.webhookPlatforms };
  app.route('/', createApiApp({ allowedRegistry: config.harbor.registry, records: relay.records, queue: relay.queue, store: relay.store, urlTtlSeconds: config.urlTtlSeconds, log, access: relay.access, webhook }));
  return handle(app);
}

/** Lambda entry of the api function (API Gateway HTTP API, payload 2.0). */
export const handler: LambdaHttpHandler = (event, context) => (lambda ??= build())(event, context);
