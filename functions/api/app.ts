import { Hono } from 'hono';
import type { AccessControl } from '../../shared/auth/access-control.ts';
import { callerOf, requireCaller } from '../../shared/auth/require-caller.ts';
import { createUnwiredAccess } from '../../shared/auth/unwired-access.ts';
import type { BlobStore } from '../../shared/blob-store.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import type { JobQueue } from '../../shared/job-queue.ts';
import type { Logger } from '../../shared/log.ts';
import { DEFAULT_PLATFORM, type Platform } from '../../shared/platform.ts';
import { readJsonBody, requireJsonContentType } from '../../shared/read-json-body.ts';
import type { RecordStore } from '../../shared/record-store.ts';
import { parseHarborWebhook } from './harbor-webhook.ts';
import { createOpenApiDocument } from './openapi.ts';
import { prefetchPush } from './prefetch-push.ts';
import { parsePullRequest } from './pull-request.ts';
import { requestPull } from './request-pull.ts';
import { requireWebhookSecret } from './webhook-secret.ts';

/** What the api function needs; wired by handler.ts (Lambda) or the local server. */
export interface ApiDeps {
  /** `host[:port]` image references must name. */
  allowedRegistry: string;
  records: RecordStore;
  queue: JobQueue;
  store: BlobStore;
  urlTtlSeconds: number;
  log: Logger;
  /** Who may do what (shared/auth/create-access-control.ts). Without it every protected route fails closed. */
  access?: AccessControl;
  /** Harbor webhooks: the shared secret (RELAY_WEBHOOK_SECRET; none → deliveries refused) and the platforms a push prefetches. */
  webhook?: { secret?: string | undefined; platforms?: readonly Platform[] };
  newId?: () => string;
  now?: () => Date;
}

/** The api function: accepts pull requests and Harbor webhooks, and queues pulls; serves the OpenAPI document. */
export function createApiApp(deps: ApiDeps): Hono {
  const app = new Hono();
  installErrorHandling(app, deps.log);
  const access = deps.access ?? createUnwiredAccess();
  const platforms = deps.webhook?.platforms?.length ? deps.webhook.platforms : [DEFAULT_PLATFORM];
  const openApi = createOpenApiDocument();

  // Public: describes the API, holds no data.
  app.get('/openapi.json', (c) => c.json(openApi));

  app.post('/v1/pulls', requireCaller(access), async (c) => {
    requireJsonContentType(c);
    const request = parsePullRequest(await readJsonBody(c), deps.allowedRegistry);
    // Harbor (or the token's patterns) decides before anything is queued or signed.
    await access.requirePull(callerOf(c), request.ref.repository);
    const { status, record } = await requestPull(deps, request);
    return c.json(record, status, status === 202 ? { Location: `/v1/pulls/${record.id}` } : {});
  });

  // Harbor waits at most 3 s and retries on failure (field case I4): validate, enqueue, answer.
  app.post('/v1/webhooks/harbor', requireWebhookSecret(deps.webhook?.secret), async (c) => {
    const event = parseHarborWebhook(await readJsonBody(c));
    if (event.kind === 'ignored') {
      deps.log.debug('webhook event ignored', { type: event.type });
      return c.json({ accepted: false, ignored: event.type }, 200);
    }
    const result = await prefetchPush(deps, deps.allowedRegistry, event.repository, event.artifacts, platforms);
    deps.log.info('webhook push handled', { repository: event.repository, format: event.format, pulls: result.pulls.map((pull) => pull.id), skipped: result.skipped.length });
    return c.json({ accepted: true, ...result }, 202);
  });

  return app;
}
