import { chmod, lstat, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join, parse, relative, resolve } from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parseDigest } from '../../shared/digest.ts';
import { RelayError } from '../../shared/errors.ts';
import { extractLayer, type ExtractLimits, type ExtractReport } from '../../shared/layer/extract-layer.ts';
import { verifyDigest } from '../../shared/verify-digest.ts';
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
  /** The caller's working directory, which the output must not contain. */
  cwd: string;
  limits: ExtractLimits;
  /** Bytes of layer `index` verified so far; for progress. */
  onBytes?: (index: number, bytes: number) => void;
  onLayerDone?: (index: number, report: ExtractReport) => void;
  signal?: AbortSignal;
}

/**
 * Downloads, verifies and applies every layer in order into a temp directory beside `dir`, then
 * moves it into place (replace-directory.ts). Each layer's bytes pass a verify-digest stream before
 * extraction, and extraction succeeds only once that stream ended cleanly: a layer whose digest
 * does not verify never reaches `dir` (field cases D2, D3). Any failure removes the temp tree and
 * leaves `dir` exactly as it was.
 */
export async function fetchIntoDirectory(options: FetchIntoDirectoryOptions): Promise<ExtractReport[]> {
  const { dir } = options;
  await checkOutputDirectory(dir, options.cwd);
  await mkdir(dirname(dir), { recursive: true });
  const temp = await mkdtemp(join(dirname(dir), `.${basename(dir)}.layer-relay-`));
  const reports: ExtractReport[] = [];
  try {
    for (const [index, layer] of options.layers.entries()) {
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
    await chmod(temp, 0o755); // mkdtemp made it 0700; the output is an ordinary directory
    await replaceDirectory(temp, dir);
    return reports;
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Refuses outputs whose replacement would destroy something that is clearly not an earlier copy:
 * a filesystem root, the home directory, the working directory or one of its parents, a file.
 */
export async function checkOutputDirectory(dir: string, cwd: string): Promise<void> {
  const target = resolve(dir);
  const refuse = (why: string) => new RelayError('OUTPUT_REFUSED', `will not replace ${target}: ${why}`);
  if (parse(target).root === target) throw refuse('it is a filesystem root');
  if (target === resolve(homedir())) throw refuse('it is the home directory');
  const fromTarget = relative(target, resolve(cwd));
  if (fromTarget === '' || (!fromTarget.startsWith('..') && !parse(fromTarget).root)) throw refuse('it holds the working directory');
  const info = await lstat(target).catch(() => undefined);
  if (info && !info.isDirectory()) throw refuse(info.isSymbolicLink() ? 'it is a symlink' : 'it is not a directory');
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
