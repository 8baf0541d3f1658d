import { afterEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../shared/digest.ts';
import { isRelayError } from '../../shared/errors.ts';
import type { PullRecord } from '../../shared/pull-record.ts';
import type { RecordStore } from '../../shared/record-store.ts';

/** When every test's clock starts; records made outside the contract are stamped with it too. */
export const RECORDS_START = new Date('2030-01-01T00:00:00Z');

/** A queued pull of harbor.test/proj/app:1.0 for linux/amd64, created and updated `at`. */
export function pullRecord(id: string, overrides: Partial<PullRecord> = {}, at = RECORDS_START): PullRecord {
  const stamp = at.toISOString();
  return { id, image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64', state: 'queued', layers: [], createdAt: stamp, updatedAt: stamp, ...overrides };
}

/** Opens a store over fresh, empty storage that reads the time from `now`. */
export type OpenRecordStore = (now: () => Date) => RecordStore | Promise<RecordStore>;

/** The RecordStore port's promises (shared/record-store.ts), registered in the caller's describe. */
export function recordStoreContract(open: OpenRecordStore): void {
  let clock = RECORDS_START.getTime();
  afterEach(() => {
    clock = RECORDS_START.getTime();
  });
  const freshStore = () => open(() => new Date(clock));
  const pull = (id: string, overrides: Partial<PullRecord> = {}) => pullRecord(id, overrides, new Date(clock));

  describe('pulls', () => {
    it('creates and gets a record unchanged', async () => {
      const store = await freshStore();
      const record = pull('p1', { layers: [{ digest: digestOf('x'), size: 1, mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
      await store.create(record);
      expect(await store.get('p1')).toEqual(record);
      expect(await store.get('nope')).toBeUndefined();
    });

    it('refuses a duplicate id and keeps the first record', async () => {
      const store = await freshStore();
      await store.create(pull('p1'));
      const err = await store.create(pull('p1', { image: 'harbor.test/other/app:2' })).catch((e: unknown) => e);
      expect(isRelayError(err)).toBe(true);
      expect((await store.get('p1'))!.image).toBe('harbor.test/proj/app:1.0');
    });

    it('updates: merges the patch, bumps updatedAt, keeps id and createdAt, removes undefined fields', async () => {
      const store = await freshStore();
      const created = pull('p1', { error: { code: 'INTERNAL', message: 'earlier try' } });
      await store.create(created);
      clock += 5000;
      const updated = await store.update('p1', { state: 'running', bytesDone: 10, error: undefined, ...({ id: 'other', createdAt: 'forged' } as object) });
      expect(updated).toEqual({ ...created, state: 'running', bytesDone: 10, error: undefined, updatedAt: new Date(clock).toISOString() });
      expect('error' in updated).toBe(false);
      expect(await store.get('p1')).toEqual(updated);
    });

    it('fails to update a missing record with NOT_FOUND and keeps working (no transaction left open)', async () => {
      const store = await freshStore();
      const err = await store.update('ghost', { state: 'done' }).catch((e: unknown) => e);
      expect(isRelayError(err, 'NOT_FOUND')).toBe(true);
      await store.create(pull('p1'));
      expect((await store.update('p1', { state: 'done' })).state).toBe('done');
    });

    it('finds the newest queued or running pull of an image and platform', async () => {
      const store = await freshStore();
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

    it('creates unless an identical pull is active: of concurrent identical calls exactly one creates, the others get its pull', async () => {
      const store = await freshStore();
      const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
      const outcomes = await Promise.all(ids.map((id) => store.createUnlessActive(pull(id))));
      const winners = ids.filter((_, i) => outcomes[i]!.created);
      expect(winners).toHaveLength(1);
      for (const outcome of outcomes) if (!outcome.created) expect(outcome.active.id).toBe(winners[0]);
      for (const id of ids.filter((id) => id !== winners[0])) expect(await store.get(id)).toBeUndefined();
      expect((await store.createUnlessActive(pull('arm', { platform: 'linux/arm64' }))).created).toBe(true);
      await store.update(winners[0]!, { state: 'running' });
      expect(await store.createUnlessActive(pull('later'))).toMatchObject({ created: false, active: { id: winners[0], state: 'running' } });
      await store.update(winners[0]!, { state: 'failed' });
      expect((await store.createUnlessActive(pull('after'))).created).toBe(true);
      expect((await store.findActive('harbor.test/proj/app:1.0', 'linux/amd64'))!.id).toBe('after');
    });

    it('finds the newest pull in a given state', async () => {
      const store = await freshStore();
      await store.create(pull('first', { state: 'done' }));
      clock += 1000;
      await store.create(pull('second', { state: 'done' }));
      clock += 1000;
      await store.create(pull('third', { state: 'failed' }));
      expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'done'))!.id).toBe('second');
      expect((await store.findLatest('harbor.test/proj/app:1.0', 'linux/amd64', 'failed'))!.id).toBe('third');
      expect(await store.findLatest('harbor.test/proj/app:1.0', 'linux/arm64', 'done')).toBeUndefined();
    });
  });

  describe('blobs', () => {
    const digest = digestOf('layer bytes');

    it('returns undefined for an unknown digest', async () => {
      expect(await (await freshStore()).getBlob(digest)).toBeUndefined();
    });

    it('merges repositories as a set and keeps the media type, also under concurrent writers', async () => {
      const store = await freshStore();
      await store.putBlob({ digest, size: 11, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', repositories: ['harbor.test/proj/a'] });
      await store.putBlob({ digest, size: 11, repositories: ['harbor.test/proj/b', 'harbor.test/proj/a'] });
      expect(await store.getBlob(digest)).toEqual({
        digest,
        size: 11,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        repositories: ['harbor.test/proj/a', 'harbor.test/proj/b'],
      });
      await Promise.all(['c', 'd', 'b'].map((name) => store.putBlob({ digest, size: 11, repositories: [`harbor.test/proj/${name}`] })));
      const blob = (await store.getBlob(digest))!;
      expect(blob.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
      expect([...blob.repositories].sort()).toEqual(['a', 'b', 'c', 'd'].map((name) => `harbor.test/proj/${name}`));
    });

    it('keeps a layer\'s files listing when later writes carry none, and replaces it when one does', async () => {
      const store = await freshStore();
      const files = [{ path: 'bin/app', size: 8, digest: digestOf('the app\n'), mode: 0o755 }];
      await store.putBlob({ digest, size: 11, repositories: ['harbor.test/proj/a'] });
      await store.putBlob({ digest, size: 11, repositories: [], files });
      await store.putBlob({ digest, size: 11, repositories: ['harbor.test/proj/b'] });
      expect(await store.getBlob(digest)).toEqual({ digest, size: 11, repositories: ['harbor.test/proj/a', 'harbor.test/proj/b'], files });
      const filesError = { code: 'UNSAFE_ENTRY' as const, message: 'entry "../x" leaves the layer' };
      await store.putBlob({ digest, size: 11, repositories: [], filesError });
      expect(await store.getBlob(digest)).toEqual({ digest, size: 11, repositories: ['harbor.test/proj/a', 'harbor.test/proj/b'], filesError });
    });
  });
}
