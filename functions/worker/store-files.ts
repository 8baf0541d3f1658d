import { PassThrough, type Readable } from 'node:stream';
import { request } from 'undici';
import type { BlobStore } from '../../shared/blob-store.ts';
import type { Digest } from '../../shared/digest.ts';
import { RelayError, isRelayError, type ErrorCode } from '../../shared/errors.ts';
import { compressionOf } from '../../shared/layer/decode-layer.ts';
import { readLayer, type ExtractLimits } from '../../shared/layer/read-layer.ts';
import { VirtualTree } from '../../shared/layer/virtual-tree.ts';
import type { Logger } from '../../shared/log.ts';
import type { ObjectKind } from '../../shared/object-key.ts';
import type { FileRecord, PullRecord } from '../../shared/pull-record.ts';
import { createStagingArea, type StagedFile } from '../../shared/store/staging-area.ts';
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

/** A regular file of the layer, staged (hashed while it streamed); hard links share their target's. */
interface LayerFile {
  mode: number;
  /** Set once its bytes are staged; a file still unset when the layer ends cannot exist (the visitor awaits it). */
  staged: StagedFile | undefined;
}

/** A listed file: its path and staged bytes. */
interface ListedFile {
  path: string;
  mode: number;
  staged: StagedFile;
}

/**
 * The files step of one single-layer pull (design.md §4, `files/<alg>/<hex>`). How it stays safe:
 * 1. `tee` splits the layer stream the registry client returns: one branch goes to the blob store
 *    (which verifies the digest), the other through readLayer (the host's extraction rules) into
 *    the store's staging area (staging-area.ts), each file hashed (sha256) as it streams. Harbor is
 *    read once; with the directory store each file is written once and published by a rename.
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
  /** After the layer is stored and verified: publishes each file and returns what to record. */
  finish(): Promise<FilesOutcome>;
  /** Removes the staging; call it in every outcome (a no-op after finish). */
  discard(): Promise<void>;
}

/** The files step for `layer`: staged where `store` stages (its own temp dir, or one under `stagingParent`). */
export function createLayerFiles(layer: BlobDescriptor, options: { store: BlobStore; log: Logger; limits?: ExtractLimits; stagingParent?: string }): LayerFiles {
  const { store } = options;
  const limits = options.limits ?? FILES_LIMITS;
  const staging = createStagingArea(store, options.stagingParent);
  let teed: Promise<ListedFile[]> | undefined;

  const stage = async (source: Readable): Promise<ListedFile[]> => {
    if (compressionOf(layer.mediaType) === undefined) {
      source.resume();
      throw notATar(layer);
    }
    // The host's rules, from the same model (virtual-tree.ts): nothing lies below a single layer.
    const tree = new VirtualTree<LayerFile>();
    await readLayer(source, layer.mediaType, async (entry) => {
      switch (entry.kind) {
        case 'file': {
          const file: LayerFile = { mode: entry.mode, staged: undefined };
          await tree.place(entry.path, 'file', file); // refused before a byte is staged
          file.staged = await staging.stage(entry.body);
          return;
        }
        case 'hardlink':
          await tree.hardlink(entry.path, entry.target); // shares the target's staged file
          return;
        case 'directory':
        case 'symlink':
          await tree.place(entry.path, entry.kind);
          return;
        case 'whiteout':
          await tree.whiteout(entry.path);
          return;
        case 'opaque':
          await tree.opaque(entry.path);
          return;
        case 'skipped':
          return; // the host writes nothing for it either: a file already at the path stays
      }
    }, limits);
    return tree.files().map(({ path, payload }) => ({ path, mode: payload!.mode, staged: payload!.staged! }));
  };

  const commit = async (files: ListedFile[]): Promise<FilesOutcome> => {
    const published = new Set<StagedFile>();
    for (const { staged } of files) {
      if (published.has(staged)) continue; // a hard link to a file already published
      await staging.publish('files', staged);
      published.add(staged);
    }
    options.log.info('layer files stored', { digest: layer.digest, files: files.length });
    const listing = files.map(({ path, mode, staged }): FileRecord => ({ path, size: staged.size, digest: staged.digest, mode }));
    return { files: listing, filesError: undefined };
  };

  const notListed = (err: unknown): FilesOutcome => {
    const error = isRelayError(err) ? err : new RelayError('INTERNAL', 'internal error while listing the layer files', { cause: err });
    const level = CONTENT_CODES.has(error.code) ? 'warn' : 'error'; // a verdict on the layer, or an operator's problem
    options.log[level]('layer files not listed', { digest: layer.digest, code: error.code, message: error.message });
    // The host's flags (--max-entries...) do not reach the worker, whose limits are fixed: say what helps (h2 N17).
    const message = error.code === 'LIMIT_EXCEEDED' ? `${error.message}; the relay lists files only for layers within its fixed limits (${limits.maxEntries} entries, ${limits.maxTotalBytes} bytes); fetch the layer with \`layer-relay get\` instead` : error.message;
    return { files: undefined, filesError: { code: error.code, message } };
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

    async finish() {
      try {
        // A content fault or a staging-disk fault seen on the tee is final (reading the layer back
        // would meet the same); a copy cut short (the store had the blob) is not.
        let staged = await teed?.catch((err: unknown) => {
          if (isRelayError(err) && (CONTENT_CODES.has(err.code) || err.code === 'FILESYSTEM_ERROR')) throw err;
          return undefined;
        });
        if (staged === undefined && compressionOf(layer.mediaType) === undefined) throw notATar(layer); // no need to read it back
        staged ??= await stage(await openStored(store, layer));
        return await commit(staged);
      } catch (err) {
        // A store fault: let the pull retry (the store is needed for the layer anyway). A full or
        // failing staging disk is not the layer's fault and must not fail the pull of a layer that
        // is stored and verified (hosts' `get` needs only that): the pull is done without `files`,
        // and as the fault is not remembered (known-layer-files.ts), the next pull lists them.
        if (isRelayError(err) && err.code !== 'FILESYSTEM_ERROR' && !CONTENT_CODES.has(err.code) && err.retryable) throw err;
        return notListed(err);
      } finally {
        await files.discard();
      }
    },

    async discard() {
      await teed?.catch(() => undefined);
      await staging.discard();
      teed = undefined;
    },
  };
  return files;
}

/** The verdict on a layer whose media type names no tar: nothing to list, whatever its bytes. */
function notATar(layer: BlobDescriptor): RelayError {
  return new RelayError('LAYER_INVALID', `media type ${layer.mediaType} is not a tar layer; no files to list`);
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
