import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parseDigest } from '../../shared/digest.ts';
import { isRelayError, RelayError } from '../../shared/errors.ts';
import { extractLayer, type ExtractLimits, type ExtractReport } from '../../shared/layer/extract-layer.ts';
import { verifyDigest } from '../../shared/verify-digest.ts';
import { checkOutputDirectory, type OutputGuard } from './output-directory.ts';
import { writeOutputMarker } from './output-marker.ts';
import { replaceDirectory } from './replace-directory.ts';

/** A layer to fetch: what the manifest says about it. */
export interface LayerToFetch {
  digest: string;
  size: number;
  mediaType: string;
}

/** What {@link fetchIntoDirectory} needs. */
export interface FetchIntoDirectoryOptions {
  layers: readonly LayerToFetch[];
  /** The layer's raw bytes (relay: resumable signed-URL download; direct: the registry client). */
  openLayer: (layer: LayerToFetch, index: number) => Promise<Readable>;
  /** Absolute output directory. */
  dir: string;
  /** Which directories may be replaced (output-directory.ts). */
  guard: OutputGuard;
  /** Recorded in DIR's marker, so the next `get` may replace DIR without --force. */
  marker: { image: string; platform: string; manifestDigest: string };
  limits: ExtractLimits;
  /** Bytes of layer `index` verified so far; for progress. */
  onBytes?: (index: number, bytes: number) => void;
  onLayerDone?: (index: number, report: ExtractReport) => void;
  /** Times to start again from zero after a retryable error (the source's `restarts`); default none. */
  restarts?: number;
  /** Layer `index` failed with `error`, and restart number `restart` begins. */
  onRestart?: (index: number, restart: number, error: RelayError) => void;
  signal?: AbortSignal;
}

/**
 * Downloads, verifies and applies every layer in order into a temp directory beside `dir`, then
 * moves it into place (replace-directory.ts). Each layer's bytes pass a verify-digest stream before
 * extraction, and extraction succeeds only once that stream ended cleanly: a layer whose digest
 * does not verify never reaches `dir` (field cases D2, D3). A retryable failure starts again from
 * zero in a fresh temp tree, up to `restarts` times: every layer again, because a half-applied layer
 * cannot be taken out of the tree it was applied to (images here have one layer, so in practice it
 * is that layer). Any failure removes the temp tree, and the parents it created for `dir`, and leaves
 * `dir` exactly as it was.
 */
export async function fetchIntoDirectory(options: FetchIntoDirectoryOptions): Promise<ExtractReport[]> {
  const { dir } = options;
  // An image without layers would replace DIR with an empty directory: a broken push, not a deploy.
  if (options.layers.length === 0) throw new RelayError('UNSUPPORTED_MANIFEST', `the image ${options.marker.image} has no layers, so there are no files to put in ${dir}; it was not changed`);
  await checkOutputDirectory(dir, options.guard);
  const createdParent = await mkdir(dirname(dir), { recursive: true });
  try {
    for (let restart = 1; ; restart += 1) {
      const at = { index: 0 };
      try {
        return await fetchBeside(options, await mkdtemp(join(dirname(dir), `.${basename(dir)}.layer-relay-`)), at);
      } catch (err) {
        if (restart > (options.restarts ?? 0) || options.signal?.aborted || !isRelayError(err) || !err.retryable) throw err;
        options.onRestart?.(at.index, restart, err);
      }
    }
  } catch (err) {
    if (createdParent !== undefined) await rm(createdParent, { recursive: true, force: true });
    throw err;
  }
}

/** One attempt: every layer into `temp`, then into place. `at.index` follows the layer being fetched. */
async function fetchBeside(options: FetchIntoDirectoryOptions, temp: string, at: { index: number }): Promise<ExtractReport[]> {
  const reports: ExtractReport[] = [];
  try {
    for (const [index, layer] of options.layers.entries()) {
      at.index = index;
      options.signal?.throwIfAborted();
      const raw = await options.openLayer(layer, index);
      const verified = verifyDigest(parseDigest(layer.digest), layer.size);
      const abort = () => raw.destroy(new RelayError('DOWNLOAD_FAILED', 'interrupted'));
      options.signal?.addEventListener('abort', abort, { once: true });
      raw.on('error', (err) => verified.destroy(err));
      const counted = raw.pipe(counter((bytes) => options.onBytes?.(index, bytes)));
      counted.on('error', (err) => verified.destroy(err));
      try {
        const report = await extractLayer(counted.pipe(verified), layer.mediaType, temp, options.limits);
        reports.push(report);
        options.onLayerDone?.(index, report);
      } finally {
        options.signal?.removeEventListener('abort', abort);
        raw.destroy();
      }
    }
    options.signal?.throwIfAborted();
    await writeOutputMarker(temp, options.marker);
    await chmod(temp, 0o755); // mkdtemp made it 0700; the output is an ordinary directory
    await replaceDirectory(temp, options.dir);
    return reports;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/** Reports the running byte count of what flows through. */
function counter(onBytes: (bytes: number) => void): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      bytes += chunk.length;
      onBytes(bytes);
      callback(null, chunk);
    },
  });
}
