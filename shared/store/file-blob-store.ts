import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, SignedUrl, StoredObject } from '../blob-store.ts';
import type { Digest } from '../digest.ts';
import { RelayError } from '../errors.ts';
import { objectKey, type ObjectKind } from '../object-key.ts';
import { signObjectPath, verifyObjectSignature } from '../signed-url.ts';
import { verifyDigest } from '../verify-digest.ts';
import { WRITE_BUFFER_BYTES } from '../write-buffer.ts';
import type { ByteRange } from './byte-range.ts';
import { writeStagedFile, type StagedFile, type StagingArea, type StagingStore } from './staging-area.ts';
import { loadSigningSecret } from './signing-secret.ts';

/** Re-exported for wiring code: the secret lives in (and belongs to) the store root. */
export { loadSigningSecret };

/**
 * A temp file untouched for this long belongs to a copy that died (every chunk written bumps its
 * mtime, so a slow live copy never looks this old); it is removed when a store opens.
 */
export const STALE_TEMP_AGE_MS = 60 * 60_000;
/** Temp files live inside the root so the final rename stays on one filesystem, hence atomic. */
const TEMP_DIR = 'tmp';

/** Options for {@link FileBlobStore}. */
export interface FileBlobStoreOptions {
  root: string;
  /**
   * Where the local server is reachable by hosts, e.g. `http://127.0.0.1:8080`; a function when it
   * is only known after listening (port 0).
   */
  publicBaseUrl: string | (() => string);
  /** HMAC key for object URLs; see loadSigningSecret. */
  secret: Buffer;
  /** Injectable clock (ms since the epoch) for URL expiry. */
  now?: () => number;
}

/**
 * The object store as a directory: `<root>/<kind>/<alg>/<hex>`, written through a verifying stream
 * into a temp file, fsynced, and renamed into place only when the digest matched (design.md §5.4).
 */
export class FileBlobStore implements BlobStore, StagingStore {
  readonly root: string;
  #publicBaseUrl: () => string;
  #secret: Buffer;
  #now: () => number;

  constructor(options: FileBlobStoreOptions) {
    this.root = options.root;
    const base = options.publicBaseUrl;
    this.#publicBaseUrl = typeof base === 'string' ? () => base : base;
    this.#secret = options.secret;
    this.#now = options.now ?? Date.now;
  }

  /** Opens a store at `root`: loads (or creates) its signing secret and sweeps stale temp files. */
  static async open(options: Omit<FileBlobStoreOptions, 'secret'> & { secret?: Buffer }): Promise<FileBlobStore> {
    await mkdir(join(options.root, TEMP_DIR), { recursive: true });
    const secret = options.secret ?? loadSigningSecret(options.root);
    const store = new FileBlobStore({ ...options, secret });
    await store.removeStaleTemps();
    return store;
  }

  /** The file that holds (or would hold) the object. */
  path(kind: ObjectKind, digest: Digest): string {
    return join(this.root, objectKey(kind, digest));
  }

  async stat(kind: ObjectKind, digest: Digest): Promise<StoredObject | undefined> {
    try {
      const info = await stat(this.path(kind, digest));
      return info.isFile() ? { digest, size: info.size } : undefined;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * Copies `source` in, verified. Concurrent puts of one digest each write their own temp file;
   * rename is atomic, so readers see either nothing or the whole verified object.
   */
  async put(kind: ObjectKind, digest: Digest, size: number, source: Readable): Promise<StoredObject> {
    const existing = await this.stat(kind, digest);
    if (existing) {
      // Content-addressed: the bytes are already here. Release the caller's body (a socket, usually).
      source.destroy();
      if (existing.size !== size) {
        throw new RelayError('SIZE_MISMATCH', `${digest} is stored with ${existing.size} bytes, not ${size}`, {
          details: { digest, size },
        });
      }
      return existing;
    }
    const final = this.path(kind, digest);
    const temp = join(this.root, TEMP_DIR, `${digest.replace(':', '-')}.${randomUUID()}.part`);
    await mkdir(dirname(temp), { recursive: true });
    await mkdir(dirname(final), { recursive: true });
    try {
      // `flush` fsyncs before close, so a crash after the rename cannot leave a short file behind.
      await pipeline(source, verifyDigest(digest, size), createWriteStream(temp, { flags: 'wx', flush: true, highWaterMark: WRITE_BUFFER_BYTES }));
      await rename(temp, final);
    } catch (err) {
      source.destroy();
      await rm(temp, { force: true });
      throw err;
    }
    await syncDirectory(dirname(final));
    return { digest, size };
  }

  /**
   * Stages files in the store's own temp directory (same filesystem): a file is written, hashed and
   * fsynced once while its layer streams, and publishing it is a rename — no second write or hash.
   */
  openStaging(): StagingArea {
    const staged = new Set<string>();
    return {
      stage: async (source) => {
        const path = join(this.root, TEMP_DIR, `staged.${randomUUID()}.part`);
        staged.add(path);
        return writeStagedFile(source, path, { durable: true });
      },
      publish: async (kind, file) => {
        if (!staged.has(file.path)) throw new RelayError('INTERNAL', `${file.path} was not staged in this store`);
        if (await this.#adopt(kind, file)) staged.delete(file.path);
      },
      discard: async () => {
        await Promise.all([...staged].map((path) => rm(path, { force: true })));
        staged.clear();
      },
    };
  }

  /** Renames a staged file into place; false when the object is stored already (the stored one is kept). */
  async #adopt(kind: ObjectKind, file: StagedFile): Promise<boolean> {
    const final = this.path(kind, file.digest);
    if (await this.stat(kind, file.digest)) return false;
    await mkdir(dirname(final), { recursive: true });
    await rename(file.path, final);
    await syncDirectory(dirname(final));
    return true;
  }

  /** A URL on the local server that serves the object until `ttlSeconds` from now. */
  async signUrl(kind: ObjectKind, digest: Digest, ttlSeconds: number): Promise<SignedUrl> {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
      throw new RelayError('INTERNAL', `signed URL lifetime must be positive, got ${ttlSeconds}`);
    }
    const key = objectKey(kind, digest);
    // Whole seconds, rounded down: the URL carries unix seconds and must not outlive what we report.
    const expiresAt = new Date(Math.floor((this.#now() + ttlSeconds * 1000) / 1000) * 1000);
    const query = signObjectPath({ key, expiresAt, secret: this.#secret });
    const base = this.#publicBaseUrl().replace(/\/+$/, '');
    return { url: `${base}/objects/${key}?${query}`, expiresAt };
  }

  /** Throws SIGNATURE_INVALID or URL_EXPIRED unless the query parts sign this object now. */
  verifySignature(kind: ObjectKind, digest: Digest, expires: string | undefined, sig: string | undefined): void {
    verifyObjectSignature({ key: objectKey(kind, digest), expires, sig, secret: this.#secret, now: new Date(this.#now()) });
  }

  /** Current time of the store's clock, in ms (the object server derives Cache-Control from it). */
  now(): number {
    return this.#now();
  }

  /** Streams the object, or an inclusive byte range of it. */
  openRead(kind: ObjectKind, digest: Digest, range?: ByteRange): Readable {
    return createReadStream(this.path(kind, digest), range ? { start: range.start, end: range.end } : {});
  }

  /** Removes temp files left by copies that died (see STALE_TEMP_AGE_MS). */
  async removeStaleTemps(): Promise<number> {
    const dir = join(this.root, TEMP_DIR);
    // The real clock, not the injectable one: mtimes are set by the filesystem.
    const cutoff = Date.now() - STALE_TEMP_AGE_MS;
    let removed = 0;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const file = join(dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) {
        await rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}

/** fsync the directory so the rename itself survives a power cut (POSIX leaves it to the caller). */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
