import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RelayError } from '../errors.ts';
import { WRITE_BUFFER_BYTES } from '../write-buffer.ts';
import { DEFAULT_EXTRACT_LIMITS, parentOf, readLayer, type ExtractLimits, type LayerEntry } from './read-layer.ts';
import { unsafeEntry } from './safe-entry-path.ts';

export { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from './read-layer.ts';
export { safeEntryPath } from './safe-entry-path.ts';

/** What applying one layer did. */
export interface ExtractReport {
  files: { path: string; size: number; mode: number }[];
  directories: string[];
  /** Kept as links, target verbatim; never followed while extracting (J2). */
  symlinks: { path: string; target: string }[];
  /** Created as hard links to a regular file already extracted under the root (J3). */
  hardlinks: { path: string; target: string }[];
  /** Paths a whiteout removed from lower layers (J4). */
  removed: string[];
  /** Entries not written, with why: devices, FIFOs, aufs metadata, whiteouts with nothing below (J4, J6). */
  skipped: { path: string; reason: string }[];
}

/**
 * Applies one layer onto `destDir` (created if missing; it may hold the layers below, applied
 * earlier in order). The rules, for every layer kind-J case of field-cases.md:
 * - names are normalised (`./x` → `x`); absolute or `..`-escaping names refuse the layer (J1, J5);
 * - symlinks are created as links with their target verbatim and are never followed: an entry
 *   whose path goes through a symlink refuses the layer, and an entry at a symlink's own path
 *   replaces the link instead of writing through it (files are opened O_CREAT|O_EXCL) (J2);
 * - hard links are created as links to a regular file already under the root, reached without
 *   symlinks; a target outside the root refuses the layer, a missing one is LAYER_INVALID (J3);
 * - whiteouts remove what lower layers put there and are never written; `.wh..wh..opq` empties the
 *   directory of lower-layer content, keeping this layer's entries (OCI layer.md) (J4);
 * - devices, FIFOs and unknown types are skipped with a note (J6); limits stop bombs (J7);
 * - file modes keep at most 0755: no setuid/setgid, nothing group- or world-writable.
 * The caller extracts into a directory of its own and moves it into place only on success: on a
 * refusal this throws and the partial tree is the caller's to remove.
 */
export async function extractLayer(source: Readable, mediaType: string, destDir: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<ExtractReport> {
  const report: ExtractReport = { files: [], directories: [], symlinks: [], hardlinks: [], removed: [], skipped: [] };
  const tree = new LayerTree(destDir);
  // readLayer is called before any await: it must watch `source` before the source can fail.
  const ready = mkdir(destDir, { recursive: true });
  ready.catch(() => undefined);
  await readLayer(source, mediaType, async (entry) => {
    await ready;
    await applyEntry(tree, entry, report);
  }, limits);
  await ready;
  return report;
}

async function applyEntry(tree: LayerTree, entry: LayerEntry, report: ExtractReport): Promise<void> {
  switch (entry.kind) {
    case 'file': {
      const target = await tree.prepare(entry.path, false);
      await pipeline(entry.body, createWriteStream(target, { flags: 'wx', mode: entry.mode, highWaterMark: WRITE_BUFFER_BYTES }));
      report.files.push({ path: entry.path, size: entry.size, mode: entry.mode });
      return;
    }
    case 'directory': {
      const target = await tree.prepare(entry.path, true);
      await mkdir(target, { mode: entry.mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await chmod(target, entry.mode);
      report.directories.push(entry.path);
      return;
    }
    case 'symlink':
      await symlink(entry.target, await tree.prepare(entry.path, false));
      report.symlinks.push({ path: entry.path, target: entry.target });
      return;
    case 'hardlink': {
      if (entry.target === entry.path) {
        report.skipped.push({ path: entry.path, reason: 'hard link to itself' });
        return;
      }
      const existing = await tree.regularFile(entry.target);
      if (existing === undefined) {
        throw new RelayError('LAYER_INVALID', `hard link "${entry.path}" names "${entry.target}", which is not a regular file extracted before it`);
      }
      await link(existing, await tree.prepare(entry.path, false));
      report.hardlinks.push({ path: entry.path, target: entry.target });
      return;
    }
    case 'whiteout': {
      const removed = await tree.whiteout(entry.path);
      if (removed.length > 0) report.removed.push(...removed);
      else report.skipped.push({ path: entry.path, reason: 'whiteout with nothing below it' });
      return;
    }
    case 'opaque':
      report.removed.push(...(await tree.opaque(entry.path)));
      return;
    case 'skipped':
      report.skipped.push({ path: entry.path, reason: entry.reason });
      return;
  }
}

/**
 * The output root as one layer sees it: which paths this layer wrote (a whiteout hides lower
 * layers only), and path walking that never follows a symlink (lstat, component by component).
 */
class LayerTree {
  readonly #root: string;
  /** Paths this layer created or wrote, with their ancestors. */
  readonly #written = new Set<string>(['']);

  constructor(root: string) {
    this.#root = root;
  }

  /**
   * Makes `path`'s parents real directories and clears `path` itself (unless both it and the new
   * entry are directories), then returns its absolute name. Refuses a path through a symlink.
   */
  async prepare(path: string, isDirectory: boolean): Promise<string> {
    await this.#ensureDirectory(parentOf(path), path);
    const absolute = join(this.#root, path);
    const current = await lstatOrUndefined(absolute);
    if (current && !(isDirectory && current.isDirectory())) await rm(absolute, { recursive: true, force: true });
    this.#markWritten(path);
    return absolute;
  }

  /** The absolute name of `path` when it is a regular file reached without symlinks. */
  async regularFile(path: string): Promise<string | undefined> {
    if (!(await this.#isRealDirectory(parentOf(path)))) return undefined;
    const absolute = join(this.#root, path);
    const info = await lstatOrUndefined(absolute);
    return info?.isFile() ? absolute : undefined;
  }

  /**
   * Removes lower-layer `path` and returns what went. When this layer wrote into `path` already
   * (whiteouts should come first, but need not), only the lower-layer content under it goes.
   */
  async whiteout(path: string): Promise<string[]> {
    if (this.#written.has(path)) return this.opaque(path);
    if (!(await this.#isRealDirectory(parentOf(path)))) return [];
    const absolute = join(this.#root, path);
    if ((await lstatOrUndefined(absolute)) === undefined) return [];
    await rm(absolute, { recursive: true, force: true }); // rm removes a symlink, never its target
    return [path];
  }

  /** Removes the lower-layer content of directory `dir`, keeping what this layer wrote. */
  async opaque(dir: string): Promise<string[]> {
    if (!(await this.#isRealDirectory(dir))) return [];
    const removed: string[] = [];
    const prune = async (at: string): Promise<void> => {
      for (const name of await readdir(join(this.#root, at))) {
        const child = at === '' ? name : `${at}/${name}`;
        if (!this.#written.has(child)) {
          await rm(join(this.#root, child), { recursive: true, force: true });
          removed.push(child);
        } else if ((await lstatOrUndefined(join(this.#root, child)))?.isDirectory()) {
          await prune(child);
        }
      }
    };
    await prune(dir);
    return removed;
  }

  async #ensureDirectory(dir: string, forEntry: string): Promise<void> {
    let at = '';
    for (const part of dir === '' ? [] : dir.split('/')) {
      at = at === '' ? part : `${at}/${part}`;
      const absolute = join(this.#root, at);
      const info = await lstatOrUndefined(absolute);
      if (info?.isSymbolicLink()) throw unsafeEntry(forEntry, `goes through the symlink "${at}"; links are never followed`);
      if (info && !info.isDirectory()) {
        if (this.#written.has(at)) throw new RelayError('LAYER_INVALID', `"${forEntry}" needs "${at}" to be a directory, but the layer made it a file`);
        await rm(absolute, { force: true }); // a lower layer's file where this layer has a directory
      }
      if (!info?.isDirectory()) await mkdir(absolute, { mode: 0o755 });
      this.#markWritten(at);
    }
  }

  async #isRealDirectory(dir: string): Promise<boolean> {
    let at = '';
    for (const part of dir === '' ? [] : dir.split('/')) {
      at = at === '' ? part : `${at}/${part}`;
      if (!(await lstatOrUndefined(join(this.#root, at)))?.isDirectory()) return false;
    }
    return true;
  }

  #markWritten(path: string): void {
    for (let at = path; at !== '' && !this.#written.has(at); at = parentOf(at)) this.#written.add(at);
  }
}

async function lstatOrUndefined(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
