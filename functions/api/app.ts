import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { BlobStore } from '../../shared/blob-store.ts';
import { parseDigest } from '../../shared/digest.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import type { JobQueue } from '../../shared/job-queue.ts';
import type { Logger } from '../../shared/log.ts';
import { presentPull } from '../../shared/present-pull.ts';
import type { PullRecord } from '../../shared/pull-record.ts';
import { readJsonBody } from '../../shared/read-json-body.ts';
import type { RecordStore } from '../../shared/record-store.ts';
import { parsePullRequest } from './pull-request.ts';

/** What the api function needs; wired by handler.ts (Lambda) or the local server. */
export interface ApiDeps {
  /** `host[:port]` image references must name. */
  allowedRegistry: string;
  records: RecordStore;
  queue: JobQueue;
  store: BlobStore;
  urlTtlSeconds: number;
  log: Logger;
  newId?: () => string;
  now?: () => Date;
}

/** The api function: accepts pull requests and queues them. */
export function createApiApp(deps: ApiDeps): Hono {
  const app = new Hono();
  installErrorHandling(app, deps.log);
  const newId = deps.newId ?? randomUUID;
  const now = deps.now ?? (() => new Date());

  app.post('/v1/pulls', async (c) => {
    const request = parsePullRequest(await readJsonBody(c), deps.allowedRegistry);
    // An identical pull already on its way is the answer: a deploy wave of many hosts queues one job.
    const active = await deps.records.findActive(request.image, request.platformText);
    if (active) return c.json(active, 202, { Location: `/v1/pulls/${active.id}` });
    if (request.ref.digest !== undefined) {
      // Pinned by digest and already relayed: the content cannot have changed, answer at once.
      const done = await deps.records.findLatest(request.image, request.platformText, 'done');
      if (done && (await allStored(done, deps.store))) return c.json(await presentPull(done, deps.store, deps.urlTtlSeconds), 200);
    }
    const at = now().toISOString();
    const record: PullRecord = { id: newId(), image: request.image, platform: request.platformText, state: 'queued', layers: [], createdAt: at, updatedAt: at };
    await deps.records.create(record);
    try {
      await deps.queue.send({ v: 1, pullId: record.id, image: record.image, platform: record.platform });
    } catch (err) {
      await deps.records.update(record.id, { state: 'failed', error: { code: 'INTERNAL', message: 'the pull could not be queued' } });
      throw err;
    }
    deps.log.info('pull queued', { pullId: record.id, image: record.image, platform: record.platform });
    return c.json(record, 202, { Location: `/v1/pulls/${record.id}` });
  });

  return app;
}

async function allStored(record: PullRecord, store: BlobStore): Promise<boolean> {
  const present = await Promise.all(record.layers.map((layer) => store.stat('blobs', parseDigest(layer.digest))));
  return record.layers.length > 0 && present.every(Boolean);
}
