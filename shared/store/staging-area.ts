import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../blob-store.ts';
import type { Digest } from '../digest.ts';
import { DigestingStream } from '../digesting-stream.ts';
import type { ObjectKind } from '../object-key.ts';
import { WRITE_BUFFER_BYTES } from '../write-buffer.ts';

/** Bytes on local disk, hashed (sha256) and counted as they were written; not visible in the store yet. */
export interface StagedFile {
  digest: Digest;
  size: number;
  /** The local file holding the bytes. */
  path: string;
}

/**
 * Where objects whose digest is only known once written (the files unpacked from a layer) wait
 * until the caller decides to keep them. Publishing keeps the BlobStore promise — an object is
 * visible only whole, under the digest of its bytes — because the digest was computed from exactly
 * the bytes staged, and the staged file is never written again.
 */
export interface StagingArea {
  /** Streams `source` to a new staged file; resolves once it is all written and flushed to disk. */
  stage(source: Readable): Promise<StagedFile>;
  /** Makes a staged file visible as `kind`/its digest; one already stored under that key is kept. */
  publish(kind: ObjectKind, file: StagedFile): Promise<void>;
  /** Removes every staged file not published; safe to call twice. */
  discard(): Promise<void>;
}

/** A store that stages on its own filesystem, so publishing is a rename (FileBlobStore). */
export interface StagingStore {
  openStaging(): StagingArea;
}

/**
 * The staging area for `store`: its own when it has one (no second write, no second hash), else a
 * temp directory under `parent` whose files are `put` into the store on publish (S3: uploaded).
 */
export function createStagingArea(store: BlobStore, parent: string = tmpdir()): StagingArea {
  const own = store as BlobStore & Partial<StagingStore>;
  if (typeof own.openStaging === 'function') return own.openStaging();
  let dir: Promise<string> | undefined;
  return {
    async stage(source) {
      dir ??= mkdtemp(join(parent, 'layer-relay-files-'));
      // Only read back by publish: no fsync needed, the store makes its own copy durable.
      return writeStagedFile(source, join(await dir, randomUUID()), { durable: false });
    },
    async publish(kind, file) {
      await store.put(kind, file.digest, file.size, createReadStream(file.path));
    },
    async discard() {
      if (dir) await rm(await dir, { recursive: true, force: true });
      dir = undefined;
    },
  };
}

/** Writes `source` to `path` (which must not exist), hashing on the way; `durable`: fsynced before it resolves. */
export async function writeStagedFile(source: Readable, path: string, options: { durable: boolean }): Promise<StagedFile> {
  const digesting = new DigestingStream('sha256');
  try {
    await pipeline(source, digesting, createWriteStream(path, { flags: 'wx', flush: options.durable, highWaterMark: WRITE_BUFFER_BYTES }));
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { digest: digesting.digest(), size: digesting.bytes, path };
}
