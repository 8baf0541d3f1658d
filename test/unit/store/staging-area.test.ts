import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../shared/blob-store.ts';
import { digestOf } from '../../../shared/digest.ts';
import { FileBlobStore } from '../../../shared/store/file-blob-store.ts';
import { createStagingArea } from '../../../shared/store/staging-area.ts';
import { chunked } from '../../support/readable-sources.ts';

let root: string;
let store: FileBlobStore;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'staging-area-'));
  store = await FileBlobStore.open({ root, publicBaseUrl: 'http://127.0.0.1:8080' });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("FileBlobStore's own staging area", () => {
  it('names staged bytes by their sha256, shows nothing until published, then renames them into place', async () => {
    const bytes = randomBytes(300_000);
    const staging = createStagingArea(store);
    const staged = await staging.stage(chunked(bytes, 65_536));
    expect(staged).toMatchObject({ digest: digestOf(bytes), size: bytes.length });
    expect(staged.path.startsWith(join(root, 'tmp'))).toBe(true);
    expect(await store.stat('files', staged.digest)).toBeUndefined();
    await staging.publish('files', staged);
    expect((await readFile(store.path('files', staged.digest))).equals(bytes)).toBe(true);
    await staging.discard();
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('keeps an object already stored and removes the staged copy on discard', async () => {
    const bytes = randomBytes(1000);
    await store.put('files', digestOf(bytes), bytes.length, Readable.from([bytes]));
    const staging = createStagingArea(store);
    const staged = await staging.stage(Readable.from([bytes]));
    await staging.publish('files', staged);
    expect((await readFile(store.path('files', staged.digest))).equals(bytes)).toBe(true);
    await staging.discard();
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('leaves no file behind when the source fails mid-way, or when nothing is published', async () => {
    const staging = createStagingArea(store);
    const cause = new Error('connection reset');
    await expect(staging.stage(chunked(randomBytes(10_000), 1000, cause))).rejects.toBe(cause);
    const unpublished = await staging.stage(Readable.from([randomBytes(500)]));
    await staging.discard();
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await store.stat('files', unpublished.digest)).toBeUndefined();
  });

  it('refuses to publish a file it did not stage', async () => {
    const other = await createStagingArea(store).stage(Readable.from([Buffer.from('x')]));
    await expect(createStagingArea(store).publish('files', other)).rejects.toThrow(/not staged in this store/);
  });
});

describe('the staging area of a store without one (S3): a temp directory, put on publish', () => {
  it('puts each published file through the store, verified, and removes its directory on discard', async () => {
    const puts: string[] = [];
    const counting: BlobStore = {
      stat: (kind, digest) => store.stat(kind, digest),
      put: (kind, digest, size, source) => {
        puts.push(digest);
        return store.put(kind, digest, size, source);
      },
      signUrl: (kind, digest, ttl) => store.signUrl(kind, digest, ttl),
    };
    const parent = await mkdtemp(join(tmpdir(), 'staging-parent-'));
    try {
      const staging = createStagingArea(counting, parent);
      const bytes = randomBytes(50_000);
      const staged = await staging.stage(chunked(bytes, 4096));
      expect(staged.path.startsWith(parent)).toBe(true);
      await staging.publish('files', staged);
      expect(puts).toEqual([digestOf(bytes)]);
      expect((await readFile(store.path('files', digestOf(bytes)))).equals(bytes)).toBe(true);
      await staging.discard();
      expect(await readdir(parent)).toEqual([]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});
