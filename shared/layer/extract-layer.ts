import { createWriteStream, type Stats } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { WRITE_BUFFER_BYTES } from '../write-buffer.ts';
import { DEFAULT_EXTRACT_LIMITS, readLayer, type ExtractLimits, type LayerEntry } from './read-layer.ts';
import { VirtualTree, type NodeKind, type Placement } from './virtual-tree.ts';

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
 * - devices, FIFOs and unknown types are skipped with a note (J6); limits stop bombs and paths
 *   deeper than maxDepth (J7);
 * - file modes keep at most 0755: no setuid/setgid, nothing group- or world-writable.
 * The path rules live in VirtualTree (virtual-tree.ts), which the worker's files listing uses too.
 * The caller extracts into a directory of its own and moves it into place only on success: on a
 * refusal this throws and the partial tree is the caller's to remove.
 */
export async function extractLayer(source: Readable, mediaType: string, destDir: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<ExtractReport> {
  const report: ExtractReport = { files: [], directories: [], symlinks: [], hardlinks: [], removed: [], skipped: [] };
  const disk = new DiskTree(destDir);
  // readLayer is called before any await: it must watch `source` before the source can fail.
  const ready = mkdir(destDir, { recursive: true });
  ready.catch(() => undefined);
  await readLayer(source, mediaType, async (entry) => {
    await ready;
    await applyEntry(disk, entry, report);
  }, limits);
  await ready;
  return report;
}

async function applyEntry(disk: DiskTree, entry: LayerEntry, report: ExtractReport): Promise<void> {
  const { tree } = disk;
  switch (entry.kind) {
    case 'file': {
      const target = await disk.prepare(entry.path, await tree.place(entry.path, 'file'));
      await pipeline(entry.body, createWriteStream(target, { flags: 'wx', mode: entry.mode, highWaterMark: WRITE_BUFFER_BYTES }));
      report.files.push({ path: entry.path, size: entry.size, mode: entry.mode });
      return;
    }
    case 'directory': {
      const target = await disk.prepare(entry.path, await tree.place(entry.path, 'directory'));
      await mkdir(target, { mode: entry.mode }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      await chmod(target, entry.mode);
      report.directories.push(entry.path);
      return;
    }
    case 'symlink':
      await symlink(entry.target, await disk.prepare(entry.path, await tree.place(entry.path, 'symlink')));
      report.symlinks.push({ path: entry.path, target: entry.target });
      return;
    case 'hardlink': {
      const linked = await tree.hardlink(entry.path, entry.target);
      if (linked === 'self') {
        report.skipped.push({ path: entry.path, reason: 'hard link to itself' });
        return;
      }
      await link(join(disk.root, entry.target), await disk.prepare(entry.path, linked.placement));
      report.hardlinks.push({ path: entry.path, target: entry.target });
      return;
    }
    case 'whiteout': {
      const effect = await tree.whiteout(entry.path);
      const removed = effect === 'remove' ? await disk.remove(entry.path) : effect === 'prune' ? await disk.prune(entry.path) : [];
      if (removed.length > 0) report.removed.push(...removed);
      else report.skipped.push({ path: entry.path, reason: 'whiteout with nothing below it' });
      return;
    }
    case 'opaque':
      if (await tree.opaque(entry.path)) report.removed.push(...(await disk.prune(entry.path)));
      return;
    case 'skipped':
      report.skipped.push({ path: entry.path, reason: entry.reason });
      return;
  }
}

/**
 * The output root on disk: carries out what the VirtualTree decided (virtual-tree.ts holds every
 * rule), and answers it about lower layers with lstat, which never follows a symlink. Only this
 * process writes under the root (a fresh 0700 temp tree), so what the tree knows stays true.
 */
class DiskTree {
  readonly root: string;
  readonly tree: VirtualTree;

  constructor(root: string) {
    this.root = root;
    this.tree = new VirtualTree({ kindOf: async (path) => kindOf(await lstatOrUndefined(join(root, path))) });
  }

  /** Makes the placement's parents, clears what stands at `path`, and returns its absolute name. */
  async prepare(path: string, placement: Placement): Promise<string> {
    for (const dir of placement.create) {
      const absolute = join(this.root, dir.path);
      if (dir.replace) await rm(absolute, { recursive: true, force: true }); // a lower layer's file where this layer has a directory
      await mkdir(absolute, { mode: 0o755 });
    }
    const absolute = join(this.root, path);
    if (placement.clear) await rm(absolute, { recursive: true, force: true }); // rm removes a symlink, never its target
    return absolute;
  }

  /** Removes lower-layer `path` (a whiteout) and returns it. */
  async remove(path: string): Promise<string[]> {
    await rm(join(this.root, path), { recursive: true, force: true });
    return [path];
  }

  /** Removes the lower-layer content of directory `dir`, keeping what this layer wrote, and returns what went. */
  async prune(dir: string): Promise<string[]> {
    const removed: string[] = [];
    for (const name of await readdir(join(this.root, dir))) {
      const child = dir === '' ? name : `${dir}/${name}`;
      const written = this.tree.written(child);
      if (!written) {
        await rm(join(this.root, child), { recursive: true, force: true });
        removed.push(child);
      } else if (written.directory) {
        removed.push(...(await this.prune(child)));
      }
    }
    return removed;
  }
}

function kindOf(info: Stats | undefined): NodeKind | 'other' | undefined {
  if (info === undefined) return undefined;
  if (info.isSymbolicLink()) return 'symlink';
  if (info.isDirectory()) return 'directory';
  return info.isFile() ? 'file' : 'other';
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
