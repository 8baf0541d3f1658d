import { afterEach, describe, expect, it } from 'vitest';
import { handleJob } from '../../../functions/worker/handle-job.ts';
import type { ImageSource } from '../../../functions/worker/relay-pull.ts';
import type { BlobStore, StoredObject } from '../../../shared/blob-store.ts';
import { RelayError, type ErrorCode } from '../../../shared/errors.ts';
import { createLogger } from '../../../shared/log.ts';
import { SqliteRecordStore } from '../../../shared/records/sqlite-record-store.ts';
import { SingleFlight } from '../../../shared/single-flight.ts';
import { pullRecord } from '../../support/record-store-contract.ts';

const stores: SqliteRecordStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

/** One delivery whose resolve fails with `code` (a registry that cannot produce it on demand: injected). */
async function deliverFailing(code: ErrorCode, receiveCount = 1) {
  const records = new SqliteRecordStore({ path: ':memory:' });
  stores.push(records);
  await records.create(pullRecord('p1'));
  const lines: { level: string; message: string; code?: string }[] = [];
  const registry: ImageSource = {
    resolve: () => Promise.reject(new RelayError(code, `injected ${code}`)),
    openBlob: () => Promise.reject(new Error('not reached')),
  };
  const deps = {
    registry,
    store: {} as BlobStore,
    records,
    copies: new SingleFlight<StoredObject>(),
    log: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line)) }),
  };
  const message = { v: 1, pullId: 'p1', image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64' };
  const outcome = await handleJob(deps, message, receiveCount, { maxAttempts: 3 });
  return { outcome, lines, record: await records.get('p1') };
}

describe('handleJob', () => {
  it.each(['IMAGE_NOT_FOUND', 'PLATFORM_NOT_FOUND', 'DENIED', 'TOO_MANY_LAYERS'] as const)(
    '%s is the image’s or requester’s to fix: the pull fails at once, logged as a warning',
    async (code) => {
      const { outcome, lines, record } = await deliverFailing(code);
      expect(outcome.kind).toBe('failed');
      expect(record).toMatchObject({ state: 'failed', error: { code } });
      expect(lines.find((l) => l.message === 'pull failed')).toMatchObject({ level: 'warn', code });
    },
  );

  it('a retryable fault goes back to the queue while attempts remain, and fails the pull as an error on the last', async () => {
    const first = await deliverFailing('REGISTRY_UNAVAILABLE', 1);
    expect(first.outcome).toMatchObject({ kind: 'retry', delaySeconds: 2 });
    expect(first.record).toMatchObject({ state: 'queued', error: { code: 'REGISTRY_UNAVAILABLE' } });
    const last = await deliverFailing('REGISTRY_UNAVAILABLE', 3);
    expect(last.outcome.kind).toBe('failed');
    expect(last.lines.find((l) => l.message === 'pull failed')).toMatchObject({ level: 'error', code: 'REGISTRY_UNAVAILABLE' });
  });

  it('an internal fault is recorded with a generic message, the details only in the log', async () => {
    const { record, lines } = await deliverFailing('INTERNAL');
    expect(record?.error).toEqual({ code: 'INTERNAL', message: 'internal error while relaying; see the relay log' });
    expect(lines.find((l) => l.message === 'pull failed')).toMatchObject({ level: 'error' });
  });
});
