import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { request } from 'undici';
import type { BlobStore } from '../../shared/blob-store.ts';
import { createDigester, parseDigest, type Digest } from '../../shared/digest.ts';
import { RelayError, isRelayError, type ErrorCode } from '../../shared/errors.ts';
import { compressionOf } from '../../shared/layer/decode-layer.ts';
import { readLayer, type ExtractLimits } from '../../shared/layer/read-layer.ts';
import type { Logger } from '../../shared/log.ts';
import type { ObjectKind } from '../../shared/object-key.ts';
import type { FileRecord, PullRecord } from '../../shared/pull-record.ts';
import { verifyDigest } from '../../shared/verify-digest.ts';
import type { BlobDescriptor } from './relay-pull.ts';

/**
 * Single-layer artifacts carry one binary or a handful of files; past these a host should fetch the
 * layer with `layer-relay get`. The byte limit also bounds the worker's staging disk (Lambda /tmp).
 */
export const FILES_LIMITS: ExtractLimits = { maxEntries: 10_000, maxTotalBytes: 4 * 1024 ** 3 };
/** Lifetime of the signed URL used to read a stored layer back, when the store offers nothing better. */
const READ_BACK_URL_TTL_SECONDS = 300;
/** Codes that say the layer's content cannot be listed (as opposed to the copy being cut short). */
const CONTENT_CODES: ReadonlySet<ErrorCode> = new Set(['UNSAFE_ENTRY', 'LAYER_INVALID', 'LIMIT_EXCEEDED']);

/** The outcome recorded on the pull: the files, or why there are none. */
export type FilesOutcome = Pick<PullRecord, 'files' | 'filesError'>;

/** A file staged on local disk, hashed while it streamed. */
interface StagedFile {
  path: string;
  size: number;
  mode: number;
  digest: Digest;
  /** Local copy to store from; hard links share their target's. */
  staged: string;
}

/**
 * The files step of one single-layer pull (design.md §4, `files/<alg>/<hex>`). How it stays safe:
 * 1. `tee` splits the layer stream the registry client returns: one branch goes to the blob store
 *    (which verifies the digest), the other through readLayer (the host's extraction rules) into
 *    local staging files, each hashed (sha256) as it streams. Harbor is read once.
 * 2. Nothing is stored under `files/` until `finish` runs, and the caller runs it only after the
 *    blob store accepted the layer, i.e. after the layer's digest verified: staged files derive from
 *    bytes that turned out verified, or they are thrown away by `discard`.
 * 3. When this call did not copy the layer (already stored, or copied by a concurrent pull),
 *    `finish` reads the stored layer back and hashes it again on the way; Harbor is not asked.
 * A layer that cannot be listed (unsafe entry, limits, not a tar) leaves the pull done with
 * `filesError` instead of `files`: the layer itself is fine to relay, hosts apply the same rules.
 */
export interface LayerFiles {
  /** Returns the stream to hand to the blob store; a copy of every byte feeds the staging. */
  tee(body: Readable): Readable;
  /** After the layer is stored and verified: stores each file and returns what to record. */
  finish(store: BlobStore): Promise<FilesOutcome>;
  /** Removes the staging; call it in every outcome (a no-op after finish). */
  discard(): Promise<void>;
}

/** The files step for `layer`, staging under the OS temp directory. */
export function createLayerFiles(layer: BlobDescriptor, options: { log: Logger; limits?: ExtractLimits; stagingParent?: string }): LayerFiles {
  const limits = options.limits ?? FILES_LIMITS;
  let stagingDir: Promise<string> | undefined;
  let teed: Promise<StagedFile[]> | undefined;
  const staging = () => (stagingDir ??= mkdtemp(join(options.stagingParent ?? tmpdir(), 'layer-relay-files-')));

  const stage = async (source: Readable): Promise<StagedFile[]> => {
    if (compressionOf(layer.mediaType) === undefined) {
      source.resume();
      throw new RelayError('LAYER_INVALID', `media type ${layer.mediaType} is not a tar layer; no files to list`);
    }
    const byPath = new Map<string, StagedFile>();
    let n = 0;
    await readLayer(source, layer.mediaType, async (entry) => {
      if (entry.kind === 'file') {
        const staged = join(await staging(), String((n += 1)));
        const hash = hashing();
        await pipeline(entry.body, hash, createWriteStream(staged, { flags: 'wx' }));
        byPath.set(entry.path, { path: entry.path, size: hash.bytes, mode: entry.mode, digest: hash.digest(), staged });
      } else if (entry.kind === 'hardlink') {
        const target = byPath.get(entry.target);
        if (!target) throw new RelayError('LAYER_INVALID', `hard link "${entry.path}" names "${entry.target}", which is not a regular file before it`);
        byPath.set(entry.path, { ...target, path: entry.path });
      } else if (entry.kind !== 'directory') {
        byPath.delete(entry.path); // a later symlink, whiteout or device at the path replaces the file
      }
    }, limits);
    return [...byPath.values()];
  };

  const commit = async (store: BlobStore, files: StagedFile[]): Promise<FilesOutcome> => {
    const stored = new Set<string>();
    for (const file of files) {
      if (stored.has(file.digest)) continue;
      await store.put('files', file.digest, file.size, createReadStream(file.staged));
      stored.add(file.digest);
    }
    options.log.info('layer files stored', { digest: layer.digest, files: files.length });
    return { files: files.map(({ path, size, digest, mode }): FileRecord => ({ path, size, digest, mode })), filesError: undefined };
  };

  const notListed = (err: unknown): FilesOutcome => {
    const error = isRelayError(err) ? err : new RelayError('INTERNAL', 'internal error while listing the layer files', { cause: err });
    options.log.warn('layer files not listed', { digest: layer.digest, code: error.code, message: error.message });
    return { files: undefined, filesError: { code: error.code, message: error.message } };
  };

  const files: LayerFiles = {
    tee(body) {
      const forStore = new PassThrough();
      const forFiles = new PassThrough();
      body.on('error', (err) => {
        forStore.destroy(err);
        forFiles.destroy(err);
      });
      // The store stopped reading (it failed, or already had the blob): stop everything.
      forStore.on('close', () => {
        if (forStore.readableEnded) return;
        body.destroy();
        forFiles.destroy(new RelayError('INTERNAL', 'layer copy ended early'));
      });
      body.pipe(forStore);
      body.pipe(forFiles);
      teed = stage(forFiles);
      teed.catch(() => undefined); // settled in finish or discard
      return forStore;
    },

    async finish(store) {
      try {
        // A content fault seen on the tee is final; a copy cut short (the store had the blob) is not.
        let staged = await teed?.catch((err: unknown) => {
          if (isRelayError(err) && CONTENT_CODES.has(err.code)) throw err;
          return undefined;
        });
        staged ??= await stage(await openStored(store, layer));
        return await commit(store, staged);
      } catch (err) {
        if (isRelayError(err) && !CONTENT_CODES.has(err.code) && err.retryable) throw err; // a store fault: let the pull retry
        return notListed(err);
      } finally {
        await files.discard();
      }
    },

    async discard() {
      await teed?.catch(() => undefined);
      if (stagingDir) await rm(await stagingDir, { recursive: true, force: true });
      stagingDir = undefined;
      teed = undefined;
    },
  };
  return files;
}

/** A pass-through that counts and sha256-hashes what flows: a file's digest as it streams. */
function hashing(): Transform & { bytes: number; digest(): Digest } {
  const hash = createDigester('sha256');
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      hash.update(chunk);
      counted.bytes += chunk.length;
      callback(null, chunk);
    },
  });
  const counted = Object.assign(stream, { bytes: 0, digest: () => parseDigest(`sha256:${hash.digest('hex')}`) });
  return counted;
}

/** A store that can stream an object itself (FileBlobStore does); others are read via a signed URL. */
interface ReadableStore {
  openRead(kind: ObjectKind, digest: Digest): Readable;
}

/** The stored layer's bytes, verified again on the way, to list the files of a layer this call did not copy. */
async function openStored(store: BlobStore, layer: BlobDescriptor): Promise<Readable> {
  const direct = store as BlobStore & Partial<ReadableStore>;
  let raw: Readable;
  if (typeof direct.openRead === 'function') {
    raw = direct.openRead('blobs', layer.digest);
  } else {
    const signed = await store.signUrl('blobs', layer.digest, READ_BACK_URL_TTL_SECONDS);
    const response = await request(signed.url, { method: 'GET' });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new RelayError('INTERNAL', `reading stored layer ${layer.digest} back answered ${response.statusCode}`);
    }
    raw = response.body;
  }
  const verified = verifyDigest(layer.digest, layer.size);
  raw.on('error', (err) => verified.destroy(err));
  return raw.pipe(verified);
}
