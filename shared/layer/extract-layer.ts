import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { RelayError } from '../errors.ts';
import { decodeLayer } from './decode-layer.ts';

/** What happened to the entries of one layer. */
export interface ExtractReport {
  files: { path: string; size: number; mode: number }[];
  directories: string[];
  /** Entries not written, with why (links, devices, FIFOs, whiteouts). */
  skipped: { path: string; reason: string }[];
}

/** Limits against decompression bombs (field case J7). */
export interface ExtractLimits {
  maxEntries: number;
  maxTotalBytes: number;
}

/** Defaults far above any real single-binary artifact, far below a disk-filling bomb. */
export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxEntries: 100_000, maxTotalBytes: 16 * 1024 ** 3 };

/**
 * Extracts a layer into `destDir`, which must be a new, empty directory this call owns:
 * regular files and directories only; names are normalised (`./x` → `x`) and refused when
 * absolute or escaping with `..` (J1, J5); symlinks, hard links, devices and FIFOs are skipped
 * with a note, never created (J2, J3, J6); whiteouts are never written as files (J4).
 * The caller verifies the layer's digest before extracting (D2).
 */
export async function extractLayer(source: Readable, mediaType: string, destDir: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<ExtractReport> {
  const report: ExtractReport = { files: [], directories: [], skipped: [] };
  const tar = extract();
  let entries = 0;
  let totalBytes = 0;
  const consume = (async () => {
    for await (const entry of tar) {
      const header: Header = entry.header;
      entries += 1;
      if (entries > limits.maxEntries) throw new RelayError('LAYER_INVALID', `layer has more than ${limits.maxEntries} entries`);
      const path = safeEntryPath(header.name);
      if (path === undefined) {
        entry.resume();
        continue; // the root itself: "./"
      }
      const base = posix.basename(path);
      if (base.startsWith('.wh.')) {
        report.skipped.push({ path, reason: 'whiteout' });
        entry.resume();
      } else if (header.type === 'directory') {
        await mkdir(join(destDir, path), { recursive: true, mode: 0o755 });
        report.directories.push(path);
        entry.resume();
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        totalBytes += header.size ?? 0;
        if (totalBytes > limits.maxTotalBytes) throw new RelayError('LAYER_INVALID', `layer expands to more than ${limits.maxTotalBytes} bytes`);
        await mkdir(join(destDir, posix.dirname(path)), { recursive: true, mode: 0o755 });
        const mode = (header.mode ?? 0o644) & 0o755; // no setuid/setgid/sticky, no world-writable files
        await pipeline(entry, createWriteStream(join(destDir, path), { flags: 'wx', mode }));
        report.files.push({ path, size: header.size ?? 0, mode });
      } else {
        report.skipped.push({ path, reason: `${header.type ?? 'unknown'} entries are not extracted` });
        entry.resume();
      }
    }
  })().catch((err: unknown) => {
    tar.destroy(err as Error); // stop reading the moment an entry is refused
    throw err;
  });
  try {
    await Promise.all([pipeline(await decodeLayer(source, mediaType), tar), consume]);
  } catch (err) {
    tar.destroy();
    source.destroy();
    await consume.catch(() => undefined);
    throw err;
  }
  return report;
}

/** `./a/b` → `a/b`; `./` → undefined; absolute or `..`-escaping names throw UNSAFE_ENTRY. */
export function safeEntryPath(name: string): string | undefined {
  if (name.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(name) || name.includes('\0')) throw unsafe(name);
  const normalised = posix.normalize(name.replace(/\\/g, '/'));
  if (normalised === '.' || normalised === './') return undefined;
  if (normalised === '..' || normalised.startsWith('../')) throw unsafe(name);
  return normalised.replace(/\/+$/, '').replace(/^\.\//, '');
}

function unsafe(name: string): RelayError {
  return new RelayError('UNSAFE_ENTRY', `layer entry "${name.slice(0, 200)}" would be written outside the output directory; refused`);
}
