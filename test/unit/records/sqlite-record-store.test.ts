import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { SqliteJobQueue } from '../../../shared/queue/sqlite-job-queue.ts';
import { SqliteRecordStore } from '../../../shared/records/sqlite-record-store.ts';
import { pullRecord as pull, recordStoreContract } from '../../support/record-store-contract.ts';

const stores: { close(): void }[] = [];
const dirs: string[] = [];

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-record-store-'));
  dirs.push(dir);
  return join(dir, 'relay.db');
}

afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('SqliteRecordStore: the RecordStore contract', () => {
  recordStoreContract((now) => {
    const store = new SqliteRecordStore({ path: ':memory:', now });
    stores.push(store);
    return store;
  });
});

describe('SqliteRecordStore connections', () => {
  it('keeps both fields when two connections update different fields at once', async () => {
    const path = await tempPath();
    const one = new SqliteRecordStore({ path });
    const two = new SqliteRecordStore({ path });
    stores.push(one, two);
    await one.create(pull('p1'));
    await Promise.all([one.update('p1', { bytesDone: 5 }), two.update('p1', { manifestDigest: digestOf('m') }), one.update('p1', { state: 'running' })]);
    expect(await two.get('p1')).toMatchObject({ bytesDone: 5, manifestDigest: digestOf('m'), state: 'running' });
  });

  it('never loses another writer’s field under real contention (threads)', async () => {
    const path = await tempPath();
    const store = new SqliteRecordStore({ path });
    stores.push(store);
    await store.create(pull('p1'));
    const rounds = 300;
    const startAt = Date.now() + 300;
    const writers = (['bytesDone', 'bytesTotal'] as const).map(
      (field) =>
        new Promise<number>((resolve, reject) => {
          const worker = new Worker(new URL('./update-field.worker.ts', import.meta.url), { workerData: { path, id: 'p1', field, rounds, startAt } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    expect(await Promise.all(writers)).toEqual([0, 0]);
    expect(await store.get('p1')).toMatchObject({ bytesDone: rounds, bytesTotal: rounds });
  });

  it('shares a connection with the queue', async () => {
    const path = await tempPath();
    const queue = new SqliteJobQueue({ path });
    stores.push(queue);
    const store = new SqliteRecordStore(queue.database);
    await store.create(pull('p1'));
    await queue.send({ v: 1, pullId: 'p1', image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64' });
    store.close();
    expect(await queue.depth()).toBe(1);
    expect((await new SqliteRecordStore({ database: queue.database }).get('p1'))!.id).toBe('p1');
  });
});
