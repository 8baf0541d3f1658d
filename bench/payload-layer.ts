import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { parseDigest, type Digest } from '../shared/digest.ts';
import { createRandomStream } from './random-stream.ts';

/** A generated single-file tar.gz layer on disk, with the digests an image needs. */
export interface PayloadLayer {
  path: string;
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar (the config's `rootfs.diff_ids`). */
  diffId: Digest;
  /** The one regular file inside, and its size. */
  fileName: string;
  fileSize: number;
}

/** A layer being generated: its gzip bytes, and the tar's digest once the stream has ended. */
export interface PayloadStream {
  stream: Readable;
  diffId: Promise<Digest>;
}

/** Bumped whenever the generator's output changes, so stale cache entries are not reused. */
const FORMAT_VERSION = 1;
/** The deliverable inside the layer, as `ADD app /` would put it. */
export const PAYLOAD_FILE_NAME = 'payload.bin';
/** Fixed so the same size always produces the same digest. */
const FIXED_MTIME = new Date('2024-01-01T00:00:00Z');

/**
 * A tar.gz holding one file of `fileSize` random bytes (seeded), generated as a stream, never in
 * memory. gzip level 0 (stored blocks): the bytes are incompressible anyway, level 0 generates at
 * disk speed, and every reader still runs a real gzip decoder (CRC included) over it.
 */
export function streamPayloadLayer(fileSize: number, seed: string): PayloadStream {
  const archive = pack();
  const entry = archive.entry({ name: PAYLOAD_FILE_NAME, size: fileSize, mode: 0o755, mtime: FIXED_MTIME });
  const tarHash = createHash('sha256');
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  // tar-stream's entry is a streamx Writable: feed it by hand, honouring its back-pressure.
  const fed = (async () => {
    for await (const chunk of createRandomStream(fileSize, seed)) {
      if (!entry.write(chunk)) await once(entry, 'drain');
    }
    // streamx's end(data) would write a callback as a chunk: call it bare (the Node typing wants an argument).
    (entry as unknown as { end(): void }).end();
    archive.finalize();
  })();
  const packed = pipeline(archive, tap((chunk) => tarHash.update(chunk)), createGzip({ level: 0 }), out);
  const done = Promise.all([fed, packed]);
  done.catch((err: unknown) => out.destroy(err as Error));
  return { stream: out, diffId: done.then(() => parseDigest(`sha256:${tarHash.digest('hex')}`)) };
}

/**
 * The cached payload layer for `fileSize`, generated once into `cacheDir` and hashed while written.
 * An entry is used only when its sidecar JSON exists, written after the rename, so an interrupted
 * generation is never mistaken for a layer.
 */
export async function ensurePayloadLayer(cacheDir: string, fileSize: number, onGenerate?: () => void): Promise<PayloadLayer> {
  const base = join(cacheDir, `payload-v${FORMAT_VERSION}-${fileSize}`);
  const path = `${base}.tar.gz`;
  const sidecar = `${base}.json`;
  if (existsSync(path) && existsSync(sidecar)) {
    const cached = JSON.parse(readFileSync(sidecar, 'utf8')) as Omit<PayloadLayer, 'path'>;
    return { ...cached, digest: parseDigest(cached.digest), diffId: parseDigest(cached.diffId), path };
  }
  onGenerate?.();
  mkdirSync(cacheDir, { recursive: true });
  const temp = `${path}.${process.pid}.part`;
  const hash = createHash('sha256');
  let size = 0;
  let diffId: Digest;
  try {
    const generated = streamPayloadLayer(fileSize, `payload-${fileSize}`);
    await pipeline(generated.stream, tap((chunk) => (hash.update(chunk), (size += chunk.length))), createWriteStream(temp));
    diffId = await generated.diffId;
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  const layer = { digest: parseDigest(`sha256:${hash.digest('hex')}`), size, diffId, fileName: PAYLOAD_FILE_NAME, fileSize };
  writeFileSync(sidecar, `${JSON.stringify(layer, null, 2)}\n`);
  return { ...layer, path };
}

/** Reads a cached layer back as a stream (for the upload). */
export function openPayloadLayer(layer: PayloadLayer): Readable {
  return createReadStream(layer.path, { highWaterMark: 1024 * 1024 });
}

function tap(see: (chunk: Buffer) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      see(chunk);
      callback(null, chunk);
    },
  });
}
