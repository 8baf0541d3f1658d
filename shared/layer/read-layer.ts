import { posix } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { RelayError, isRelayError } from '../errors.ts';
import { decodeLayer } from './decode-layer.ts';
import { filesystemError, isFilesystemError } from './filesystem-error.ts';
import { endAtArchiveMarker } from './tar-end-marker.ts';
import { checkPathShape, safeEntryPath, unsafeEntry } from './safe-entry-path.ts';

/** Limits against decompression bombs (field case J7): a small layer that expands without end. */
export interface ExtractLimits {
  /** Tar entries of any kind, skipped ones included. */
  maxEntries: number;
  /** Bytes of the decompressed tar stream: file data, headers and padding together. */
  maxTotalBytes: number;
  /** Path components of any entry (default DEFAULT_MAX_DEPTH): deep paths make every file system call on them slower (h2 B7). */
  maxDepth?: number;
}

/**
 * Deepest entry path accepted, in components. Real layers stay far below (deep node_modules trees:
 * ~40); 1,000 entries 1,500 directories deep kept extraction busy for minutes (h2 B7).
 */
export const DEFAULT_MAX_DEPTH = 256;

/**
 * Far above a real artifact or base image (Debian's rootfs: ~10k entries, < 1 GiB), far below what
 * fills a disk or takes hours to write. Hosts change them with --max-entries / --max-bytes.
 */
export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 1_000_000, maxTotalBytes: 64 * 1024 ** 3 };

/** One tar entry, classified, its path normalised and checked (relative to the output root). */
export type LayerEntry =
  /** `body` must be read or left alone; what is left is drained before the next entry. */
  | { kind: 'file'; path: string; size: number; mode: number; body: Readable }
  | { kind: 'directory'; path: string; mode: number }
  /** `target` verbatim: it is data, never resolved while extracting. */
  | { kind: 'symlink'; path: string; target: string }
  /** `target` is a checked path inside the layer root (J3). */
  | { kind: 'hardlink'; path: string; target: string }
  /** `.wh.name`: hides `path` from lower layers (OCI image-spec layer.md "Whiteouts"). */
  | { kind: 'whiteout'; path: string }
  /** `.wh..wh..opq`: hides everything lower layers put in directory `path` ('' is the root). */
  | { kind: 'opaque'; path: string }
  /** Devices, FIFOs, unknown types, aufs metadata: never created (J6). */
  | { kind: 'skipped'; path: string; reason: string };

const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';
/** Permission bits we keep: no setuid/setgid/sticky, no group- or world-writable results. */
const MODE_MASK = 0o755;

/**
 * Reads a layer blob entry by entry: the decoder from its media type (checked against the magic
 * bytes), names normalised and refused when they escape (J1, J5), hard-link targets checked (J3),
 * whiteouts recognised (J4), devices and FIFOs reported as skipped (J6), limits enforced (J7).
 * `visit` decides what each entry becomes. Resolves only after `source` itself ended cleanly, so
 * a verifying source (verify-digest.ts) has checked the digest before this reports success (D3).
 */
export async function readLayer(source: Readable, mediaType: string, visit: (entry: LayerEntry) => Promise<void>, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> {
  const sourceDone = finished(source);
  sourceDone.catch(() => undefined); // observed below; a rejection must not go unhandled meanwhile
  // Who raised an error decides its code: only the decoder and the tar parser speak for the layer.
  const sourceFaults = new WeakSet<object>();
  const visitFaults = new WeakSet<object>();
  source.on('error', (err) => sourceFaults.add(err));
  const tar = endAtArchiveMarker(extract());
  let entries = 0;
  const consume = (async () => {
    for await (const entry of tar) {
      entries += 1;
      if (entries > limits.maxEntries) {
        throw new RelayError('LIMIT_EXCEEDED', `layer has more than ${limits.maxEntries} entries (the limit)`, { details: { limit: 'maxEntries', value: limits.maxEntries } });
      }
      // tar-stream entries are streamx streams: consumers get a Node Readable over the entry.
      const classified = classify(entry.header, Readable.from(entry as AsyncIterable<Buffer>));
      if (classified !== undefined) checkPathShape(classified.path, limits.maxDepth ?? DEFAULT_MAX_DEPTH);
      if (classified !== undefined) {
        await visit(classified).catch((err: unknown) => {
          if (typeof err === 'object' && err !== null) visitFaults.add(err);
          throw err;
        });
      }
      for await (const _ of entry as AsyncIterable<Buffer>) {
        // drains what the visitor left unread, so the parser can move on
      }
    }
  })().catch((err: unknown) => {
    tar.destroy(err as Error); // stop parsing the moment an entry is refused; the pipeline reports the same error
    throw err;
  });
  consume.catch(() => undefined);
  try {
    const decoded = await decodeLayer(source, mediaType);
    await Promise.all([pipeline(decoded, expansionLimit(limits.maxTotalBytes), tar as unknown as NodeJS.WritableStream), consume, sourceDone]);
  } catch (caught) {
    tar.destroy();
    // The first rejection can be an echo: a visitor's failed write destroys the entry stream, and so
    // the parser, with an error of its own. The visitor's error is the real one.
    const visited = await consume.then(() => undefined, (err: unknown) => err);
    const err = typeof visited === 'object' && visited !== null && visitFaults.has(visited) ? visited : caught;
    if (isRelayError(err) || (typeof err === 'object' && err !== null && (visitFaults.has(err) || sourceFaults.has(err)))) {
      source.destroy();
      throw isFilesystemError(err) ? filesystemError(err) : err;
    }
    if (!source.destroyed) {
      // A format fault in bytes that may not verify: read on, so the digest decides (D2).
      source.unpipe();
      source.resume();
      const verdict = await sourceDone.then(() => undefined, (sourceErr: unknown) => sourceErr);
      if (isRelayError(verdict)) throw verdict;
    }
    source.destroy();
    throw layerInvalid(err);
  }
}

/** The entry as a LayerEntry; undefined for the root directory itself (`./`). */
function classify(header: Header, body: Readable): LayerEntry | undefined {
  const path = safeEntryPath(header.name);
  if (path === undefined) return undefined;
  const base = posix.basename(path);
  const dir = parentOf(path);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', path: dir };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'skipped', path, reason: 'aufs metadata entry' };
  if (base.startsWith(WHITEOUT_PREFIX)) {
    const hidden = base.slice(WHITEOUT_PREFIX.length);
    if (hidden === '' || hidden === '.' || hidden === '..') throw unsafeEntry(header.name, 'is a whiteout for a parent directory');
    return { kind: 'whiteout', path: dir === '' ? hidden : `${dir}/${hidden}` };
  }
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return { kind: 'file', path, size: header.size ?? 0, mode: (header.mode ?? 0o644) & MODE_MASK, body };
    case 'directory':
      // Owner rwx always: we must be able to write the entries that follow into it.
      return { kind: 'directory', path, mode: ((header.mode ?? 0o755) & MODE_MASK) | 0o700 };
    case 'symlink':
      if (!header.linkname) throw unsafeEntry(header.name, 'is a symlink without a target');
      return { kind: 'symlink', path, target: header.linkname };
    case 'link': {
      // Tar hard-link names are archive paths; one that leaves the archive root is refused (J3).
      const target = header.linkname ? safeLinkTarget(header.linkname, header.name) : undefined;
      if (target === undefined) throw unsafeEntry(header.name, 'is a hard link to the archive root or to nothing');
      return { kind: 'hardlink', path, target };
    }
    default:
      return { kind: 'skipped', path, reason: `${header.type ?? 'unknown'} entries are not extracted` };
  }
}

function safeLinkTarget(linkname: string, name: string): string | undefined {
  try {
    return safeEntryPath(linkname);
  } catch {
    throw unsafeEntry(name, `is a hard link to "${linkname.slice(0, 200)}", outside the layer`);
  }
}

/** The directory part of a normalised path; '' for the root. */
export function parentOf(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}

/** Counts decompressed bytes and fails past `max`: the bomb stops before it reaches the disk. */
function expansionLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > max) {
        callback(new RelayError('LIMIT_EXCEEDED', `layer expands to more than ${max} bytes (the limit)`, { details: { limit: 'maxTotalBytes', value: max } }));
        return;
      }
      callback(null, chunk);
    },
  });
}

/** Decoder and tar parser faults are the layer's: LAYER_INVALID, the original kept as cause. */
function layerInvalid(err: unknown): RelayError {
  return new RelayError('LAYER_INVALID', `the layer is not a readable tar stream: ${(err as Error).message ?? String(err)}`, { cause: err });
}
