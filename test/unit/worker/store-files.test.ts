import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../../shared/blob-store.ts';
import { digestOf } from '../../../shared/digest.ts';
import { silentLogger } from '../../../shared/log.ts';
import { FileBlobStore } from '../../../shared/store/file-blob-store.ts';
import type { StagingArea, StagingStore } from '../../../shared/store/staging-area.ts';
import { lastingLayerFiles } from '../../../functions/worker/known-layer-files.ts';
import { createLayerFiles } from '../../../functions/worker/store-files.ts';
import { craftTar } from '../../support/crafted-tar.ts';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
let root: string;
let store: FileBlobStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'store-files-'));
  store = await FileBlobStore.open({ root, publicBaseUrl: 'http://127.0.0.1:8080' });
});
afterEach(() => rm(root, { recursive: true, force: true }));

/** The store, with a staging area whose disk is full (every write answers ENOSPC, as /dev/full does). */
function fullDisk(inner: FileBlobStore): BlobStore & StagingStore {
  const staging: StagingArea = {
    async stage(source) {
      await pipeline(source, createWriteStream('/dev/full'));
      throw new Error('unreachable: /dev/full accepted a write');
    },
    publish: async () => undefined,
    discard: async () => undefined,
  };
  return Object.assign(Object.create(inner) as FileBlobStore, { openStaging: () => staging });
}

describe('the worker files step', () => {
  it('a full staging disk leaves the pull done without files (FILESYSTEM_ERROR), and is never remembered as a verdict on the layer', async () => {
    const bytes = gzipSync(await craftTar([{ name: 'bin/app', body: Buffer.alloc(200_000, 7) }]));
    const layer = { digest: digestOf(bytes), size: bytes.length, mediaType: GZIP };
    const files = createLayerFiles(layer, { store: fullDisk(store), log: silentLogger });
    files.tee(Readable.from([bytes])).resume();
    const outcome = await files.finish();
    expect(outcome).toMatchObject({ files: undefined, filesError: { code: 'FILESYSTEM_ERROR', message: expect.stringContaining('ENOSPC') } });
    expect(lastingLayerFiles(outcome, GZIP)).toBeUndefined();
  });
});

describe('the worker files limits (h2 N17)', () => {
  it('a layer past them gets LIMIT_EXCEEDED that points to layer-relay get, not to CLI flags that never reach the worker', async () => {
    const bytes = gzipSync(await craftTar(Array.from({ length: 5 }, (_, i) => ({ name: `f${i}`, body: 'x' }))));
    const files = createLayerFiles({ digest: digestOf(bytes), size: bytes.length, mediaType: GZIP }, { store, log: silentLogger, limits: { maxEntries: 2, maxTotalBytes: 1e9 } });
    files.tee(Readable.from([bytes])).resume();
    const { filesError } = await files.finish();
    expect(filesError).toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('layer has more than 2 entries') });
    expect(filesError!.message).toContain('layer-relay get');
    expect(filesError!.message).not.toMatch(/--max|LAYER_RELAY_MAX/);
  });
});
