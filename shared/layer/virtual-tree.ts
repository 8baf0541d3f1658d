import { RelayError } from '../errors.ts';
import { unsafeEntry } from './safe-entry-path.ts';

/** What a path holds, as far as the extraction rules care ('other': anything else a lower layer left). */
export type NodeKind = 'file' | 'directory' | 'symlink';

/** What lies below the layer being applied: lower layers already on disk. Asked only about paths this layer has not decided. */
export interface LowerTree {
  kindOf(path: string): Promise<NodeKind | 'other' | undefined>;
}

/** Nothing below: a single-layer artifact (the worker), or a first layer into an empty directory (the host). */
export const EMPTY_LOWER: LowerTree = { kindOf: async () => undefined };

/** What the disk must do before writing an entry; decided by the rules, carried out by the caller. */
export interface Placement {
  /** Missing parent directories, top down; `replace`: a lower layer's non-directory stands there and goes first. */
  create: { path: string; replace: boolean }[];
  /** Something stands at the entry's path (with whatever is under it) and must go first. */
  clear: boolean;
}

/** What a whiteout does: nothing, remove a lower-layer path, or prune lower content under a directory this layer wrote. */
export type WhiteoutEffect = 'none' | 'remove' | 'prune';

interface Node<T> {
  kind: NodeKind;
  /** Files only: what the consumer attached (the worker's staged bytes); shared by hard links. */
  payload?: T;
  /** Files only: placement order, so the listing follows the archive. */
  order?: number;
  /** Directories only. */
  children?: Map<string, Node<T>>;
}

/**
 * The output tree as one layer shapes it, by path alone: the extraction rules of extract-layer.ts
 * (J2–J4), decided once for both consumers, so `layer-relay get` and the worker's `files` listing give
 * the same verdict on every layer by construction (h2 B1). It holds what this layer wrote and the
 * lower directories it walked through; `lower` answers for the rest, so each lower directory is
 * looked at once per layer instead of once per entry below it (h2 B7).
 * - a path through a symlink refuses the layer (UNSAFE_ENTRY); a path under a file this layer wrote
 *   is LAYER_INVALID; a lower layer's file where a directory is needed is replaced;
 * - an entry replaces what stands at its path and everything under it, except that a directory over
 *   a directory merges;
 * - a whiteout hides lower layers only (OCI image-spec layer.md): this layer's own entries stay.
 */
export class VirtualTree<T = undefined> {
  readonly #lower: LowerTree;
  readonly #root: Node<T> = { kind: 'directory', children: new Map() };
  #placed = 0;

  constructor(lower: LowerTree = EMPTY_LOWER) {
    this.#lower = lower;
  }

  /** Records `kind` at `path` and says what the disk must do first; throws when the rules refuse it. */
  async place(path: string, kind: NodeKind, payload?: T): Promise<Placement> {
    const names = path.split('/');
    const leaf = names.pop()!;
    const create: Placement['create'] = [];
    let dir = this.#root;
    let at = '';
    let fresh = false; // below a directory this call creates, nothing lower exists
    for (const name of names) {
      at = at === '' ? name : `${at}/${name}`;
      let node = dir.children!.get(name);
      if (node === undefined) {
        const lower = fresh ? undefined : await this.#lower.kindOf(at);
        if (lower === 'symlink') throw unsafeEntry(path, `goes through the symlink "${at}"; links are never followed`);
        if (lower !== 'directory') {
          create.push({ path: at, replace: lower !== undefined });
          fresh = true;
        }
        node = { kind: 'directory', children: new Map() };
        dir.children!.set(name, node);
      } else if (node.kind === 'symlink') {
        throw unsafeEntry(path, `goes through the symlink "${at}"; links are never followed`);
      } else if (node.kind !== 'directory') {
        throw new RelayError('LAYER_INVALID', `"${path}" needs "${at}" to be a directory, but the layer made it a file`);
      }
      dir = node;
    }
    const current = dir.children!.get(leaf)?.kind ?? (fresh ? undefined : await this.#lower.kindOf(path));
    const merge = kind === 'directory' && current === 'directory';
    if (!merge) {
      const node: Node<T> = kind === 'directory' ? { kind, children: new Map() } : { kind };
      if (kind === 'file') Object.assign(node, { payload, order: this.#placed++ });
      dir.children!.set(leaf, node); // replaces the old node, and with it everything under it
    } else if (!dir.children!.has(leaf)) {
      dir.children!.set(leaf, { kind, children: new Map() });
    }
    return { create, clear: current !== undefined && !merge };
  }

  /**
   * A hard link at `path` to regular file `target`: the target's payload (undefined for a lower-layer
   * file), or 'self' for a link to itself (skipped: nothing to link). Anything but a regular file
   * reached without symlinks is LAYER_INVALID (J3).
   */
  async hardlink(path: string, target: string): Promise<{ payload: T | undefined; placement: Placement } | 'self'> {
    if (target === path) return 'self';
    const invalid = (why: string) => new RelayError('LAYER_INVALID', `hard link "${path}" names "${target}", ${why}`);
    if (target.startsWith(`${path}/`)) throw invalid('which it would replace along with its directory');
    const found = this.#find(target);
    let payload: T | undefined;
    if (found.node) {
      if (found.node.kind !== 'file') throw invalid('which is not a regular file extracted before it');
      payload = found.node.payload;
    } else if (!found.blocked && (await this.#lowerKind(target, found.depth)) === 'file') {
      payload = undefined; // a lower layer's file: the disk links to it
    } else {
      throw invalid('which is not a regular file extracted before it');
    }
    return { payload, placement: await this.place(path, 'file', payload) };
  }

  /** What whiteout `.wh.<path>` does; this layer's own entries are never hidden (J4). */
  async whiteout(path: string): Promise<WhiteoutEffect> {
    const found = this.#find(path);
    if (found.node) return found.node.kind === 'directory' ? 'prune' : 'none';
    if (found.blocked) return 'none';
    return (await this.#lowerKind(path, found.depth)) === undefined ? 'none' : 'remove';
  }

  /** True when `dir` is a real directory whose lower-layer content an opaque marker must prune (J4). */
  async opaque(dir: string): Promise<boolean> {
    if (dir === '') return true;
    const found = this.#find(dir);
    if (found.node) return found.node.kind === 'directory';
    return !found.blocked && (await this.#lowerKind(dir, found.depth)) === 'directory';
  }

  /** True when this layer wrote `path` (or walked through it): pruning keeps it. */
  written(path: string): { directory: boolean } | undefined {
    const node = this.#find(path).node;
    return node ? { directory: node.kind === 'directory' } : undefined;
  }

  /** The regular files the layer leaves, in the order they were placed, with their payloads. */
  files(): { path: string; payload: T | undefined }[] {
    const found: { path: string; payload: T | undefined; order: number }[] = [];
    const walk = (dir: Node<T>, at: string) => {
      for (const [name, node] of dir.children!) {
        const path = at === '' ? name : `${at}/${name}`;
        if (node.kind === 'directory') walk(node, path);
        else if (node.kind === 'file') found.push({ path, payload: node.payload, order: node.order! });
      }
    };
    walk(this.#root, '');
    return found.sort((a, b) => a.order - b.order).map(({ path, payload }) => ({ path, payload }));
  }

  /**
   * Walks `path` through the nodes this layer knows: the node, or how many leading components were
   * known directories (`depth`) and whether a known non-directory blocks the way.
   */
  #find(path: string): { node?: Node<T>; depth: number; blocked: boolean } {
    const names = path.split('/');
    let dir = this.#root;
    for (let i = 0; i < names.length; i += 1) {
      const node = dir.children!.get(names[i]!);
      if (node === undefined) return { depth: i, blocked: false };
      if (i === names.length - 1) return { node, depth: i, blocked: false };
      if (node.kind !== 'directory') return { depth: i, blocked: true };
      dir = node;
    }
    return { depth: names.length, blocked: false };
  }

  /** Asks the lower tree about `path`, whose first `known` components are directories this layer knows; the rest must be lower directories. */
  async #lowerKind(path: string, known: number): Promise<NodeKind | 'other' | undefined> {
    const names = path.split('/');
    for (let i = known; i < names.length - 1; i += 1) {
      if ((await this.#lower.kindOf(names.slice(0, i + 1).join('/'))) !== 'directory') return undefined;
    }
    return this.#lower.kindOf(path);
  }
}
