import { randomUUID } from 'node:crypto';
import type { BlobStore } from '../../shared/blob-store.ts';
import { parseDigest } from '../../shared/digest.ts';
import type { JobQueue } from '../../shared/job-queue.ts';
import type { Logger } from '../../shared/log.ts';
import { presentPull } from '../../shared/present-pull.ts';
import type { PullRecord } from '../../shared/pull-record.ts';
import type { RecordStore } from '../../shared/record-store.ts';
import type { ParsedPullRequest } from './pull-request.ts';

/** What creating a pull needs. */
export interface RequestPullDeps {
  records: RecordStore;
  queue: JobQueue;
  store: BlobStore;
  urlTtlSeconds: number;
  log: Logger;
  newId?: () => string;
  now?: () => Date;
}

/** The answer to a pull request: 202 and a queued (or already active) pull, or 200 and a finished one. */
export interface PullOutcome {
  status: 200 | 202;
  record: PullRecord;
  /** False when an existing pull answered: nothing new was queued. */
  queued: boolean;
}

/**
 * Queues a pull of an already validated and authorized request, unless an existing pull answers
 * it: an identical pull already queued or running (a deploy wave of many hosts, a redelivered
 * webhook), or — for an image pinned by digest — a finished copy whose layers are all stored.
 */
export async function requestPull(deps: RequestPullDeps, request: ParsedPullRequest): Promise<PullOutcome> {
  if (request.ref.digest !== undefined) {
    // Pinned by digest and already relayed: the content cannot have changed, answer at once.
    const active = await deps.records.findActive(request.image, request.platformText);
    if (active) return { status: 202, record: active, queued: false };
    const done = await deps.records.findLatest(request.image, request.platformText, 'done');
    if (done && (await allStored(done, deps.store))) return { status: 200, record: await presentPull(done, deps.store, deps.urlTtlSeconds), queued: false };
  }
  const at = (deps.now ?? (() => new Date()))().toISOString();
  const record: PullRecord = { id: (deps.newId ?? randomUUID)(), image: request.image, platform: request.platformText, state: 'queued', layers: [], createdAt: at, updatedAt: at };
  // One atomic step: of many identical requests at once (a deploy wave) exactly one creates a pull.
  const outcome = await deps.records.createUnlessActive(record);
  if (!outcome.created) return { status: 202, record: outcome.active, queued: false };
  try {
    await deps.queue.send({ v: 1, pullId: record.id, image: record.image, platform: record.platform });
  } catch (err) {
    // Failed, the record no longer counts as active: the next request queues a new pull.
    await deps.records.update(record.id, { state: 'failed', error: { code: 'QUEUE_UNAVAILABLE', message: 'the pull could not be queued' } }).catch(() => undefined);
    throw err;
  }
  deps.log.info('pull queued', { pullId: record.id, image: record.image, platform: record.platform });
  return { status: 202, record, queued: true };
}

async function allStored(record: PullRecord, store: BlobStore): Promise<boolean> {
  const present = await Promise.all(record.layers.map((layer) => store.stat('blobs', parseDigest(layer.digest))));
  return record.layers.length > 0 && present.every(Boolean);
}
