import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { SqliteJobQueue } from '../../../shared/queue/sqlite-job-queue.ts';
import { SqliteRecordStore } from '../../../shared/records/sqlite-record-store.ts';

let clock = Date.parse('2030-01-01T00:00:00Z');
const stores: { close(): void }[] = [];
const dirs: string[] = [];

function memoryStore(): SqliteRecordStore {
  const store = new SqliteRecordStore({ path: ':memory:', now: () => new Date(clock) });
  stores.push(store);
  return store;
}

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sqlite-record-store-'));
  dirs.push(dir);
  return join(dir, 'relay.db');
}

function pull(id: string, overrides: Partial<PullRecord> = {}): PullRecord {
  const at = new Date(clock).toISOString();
  return { id, image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64', state: 'queued', layers: [], createdAt: at, updatedAt: at, ...overrides };
}

afterEach(async () => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  clock = Date.parse('2030-01-01T00:00:00Z');
});

describe('SqliteRecordStore pulls', () => {
  it('creates and gets a record unchanged', async () => {
    const store = memoryStore();
    const record = pull('p1', { layers: [{ digest: digestOf('x'), size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
    await store.create(record);
    expect(await store.get('p1')).toEqual(record);
    expect(await store.get('nope')).toBeUndefined();
  });

  it('refuses a duplicate id and keeps the first record', async () => {
    const store = memoryStore();
    await store.create(pull('p1'));
    const err = await store.create(pull('p1', { image: 'harbor.test/other/app:2' })).catch((e: unknown) => e);
    expect(isRelayError(err)).toBe(true);
    expect((await store.get('p1'))!.image).toBe('harbor.test/proj/app:1.0');
  });

  it('updates: merges the patch, bumps updatedAt, keeps id and createdAt, removes undefined fields', async () => {
    const store = memoryStore();
    const created = pull('p1', { error: { code: 'INTERNAL', message: 'earlier try' } });
    await store.create(created);
    clock += 5000;
    const updated = await store.update('p1', {
      state: 'running',
      bytesDone: 10,
      error: undefined,
      ...({ id: 'other', createdAt: 'forged' } as object),
    });
    expect(updated).toEqual({ ...created, state: 'running', bytesDone: 10, error: undefined, updatedAt: new Date(clock).toISOString() });
    expect('error' in updated).toBe(false);
    expect(await store.get('p1')).toEqual(updated);
  });

  it('fails to update a missing record with NOT_FOUND and leaves no transaction open', async () => {
    const store = memoryStore();
    const err = await store.update('ghost', { state: 'done' }).catch((e: unknown) => e);
    expect(isRelayError(err, 'NOT_FOUND')).toBe(true);
    await store.create(pull('p1'));
    expect((await store.update('p1', { state: 'done' })).state).toBe('done');
  });

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

  it('finds the newest queued or running pull of an image and platform', async () => {
    const store = memoryStore();
    await store.create(pull('old', { state: 'running' }));
    clock += 1000;
    await store.create(pull('new'));
    clock += 1000;
    await store.create(pull('done', { state: 'done' }));
    await store.create(pull('arm', { platform: 'linux/arm64' }));
    await store.create(pull('other', { image: 'harbor.test/proj/app:2.0' }));
    expect((await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64'))!.id).toBe('new');
    await store.update('new', { state: 'failed' });
    expect((await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64'))!.id).toBe('old');
    await store.update('old', { state: 'done' });
    expect(await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64')).toBeUndefined();
  });

  it('finds the newest pull in a given state', async () => {
    const store = memoryStore();
    await store.create(pull('first', { state: 'done' }));
    clock += 1000;
    await store.create(pull('second', { state: 'done' }));
    clock += 1000;
    await store.create(pull('third', { state: 'failed' }));
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'done'))!.id).toBe('second');
    expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'failed'))!.id).toBe('third');
    expect(await store.findLatest('harbor.test/proj/app:1.0', 'linux/arm64', 'done')).toBeUndefined();
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

describe('SqliteRecordStore blobs', () => {
  const digest = digestOf('layer bytes');

  it('returns undefined for an unknown digest', async () => {
    expect(await memoryStore().getBlob(digest)).toBeUndefined();
  });

  it('merges repositories as a set and keeps the media type', async () => {
    const store = memoryStore();
    await store.putBlob({ digest, size: 11, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', repositories: ['harbor.test/proj/a'] });
    await store.putBlob({ digest, size: 11, repositories: ['harbor.test/proj/b', 'harbor.test/proj/a'] });
    expect(await store.getBlob(digest)).toEqual({
      digest,
      size: 11,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      repositories: ['harbor.test/proj/a', 'harbor.test/proj/b'],
    });
  });
});
