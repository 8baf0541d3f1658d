import type { Stats } from 'node:fs';
import { lstat as fsLstat, readdir } from 'node:fs/promises';
import { dirname, isAbsolute, parse, relative, resolve } from 'node:path';
import { RelayError } from '../../shared/errors.ts';
import { markerRepository, OUTPUT_MARKER, readOutputMarker } from './output-marker.ts';

/** What decides whether a directory may be replaced. */
export interface OutputGuard {
  /** The caller's working directory: it and its parents are never replaced. */
  cwd: string;
  /** The caller's HOME (io.env.HOME, so in-process runs use the injected one): it and its parents are never replaced. */
  home?: string | undefined;
  /** --force: replace a populated DIR that carries no marker, or another repository's. Never overrides the other refusals. */
  force: boolean;
  /** `registry/repository` being fetched: a marker of another repository does not make DIR ours to replace. */
  repository?: string | undefined;
  /** Injectable for tests (a mount point cannot be made without root). */
  lstat?: (path: string) => Promise<Stats>;
}

/**
 * Refuses outputs whose replacement would destroy something that is clearly not an earlier copy:
 * a filesystem root or a populated directory directly under it (/opt, /etc, /usr), the home directory or one of
 * its parents, the working directory or one of its parents, a file or symlink, a mount point (rename(2)
 * over it fails with EBUSY), and a populated directory without layer-relay's marker unless --force.
 */
export async function checkOutputDirectory(dir: string, guard: OutputGuard): Promise<void> {
  const lstat = guard.lstat ?? fsLstat;
  const target = resolve(dir);
  const refuse = (why: string) => new RelayError('OUTPUT_REFUSED', `will not replace ${target}: ${why}`);
  const root = parse(target).root;
  if (root === target) throw refuse('it is a filesystem root');
  const fromTarget = relative(target, resolve(guard.cwd));
  if (fromTarget === '' || holds(fromTarget)) throw refuse('it holds the working directory');
  if (guard.home) {
    const fromHome = relative(target, resolve(guard.home));
    if (fromHome === '') throw refuse('it is the home directory');
    if (holds(fromHome)) throw refuse('it holds the home directory');
  }
  const info = await lstat(target).catch(() => undefined);
  if (info === undefined) return;
  if (!info.isDirectory()) throw refuse(info.isSymbolicLink() ? 'it is a symlink' : 'it is not a directory');
  const parent = await lstat(dirname(target)).catch(() => undefined);
  if (parent !== undefined && parent.dev !== info.dev) throw refuse('it is a mount point; use a sub-directory of it (DIR is replaced by rename, which a mount point refuses)');
  if ((await readdir(target)).length === 0) return;
  const marker = await readOutputMarker(target);
  const markedFor = marker && markerRepository(marker);
  // A new release of the same repository replaces the last one; another app's deployment (a slip
  // of `-o /opt/app2`) is not replaced without --force.
  if (markedFor !== undefined && (guard.repository === undefined || markedFor === guard.repository)) return;
  // A populated directory directly under the root is a system one (/opt, /etc, /usr): --force does
  // not reach it, so a slip of `-o /opt` for `-o /opt/app` cannot wipe it. `/app` is fine the first
  // time (absent or empty) and from then on (it carries the marker).
  if (dirname(target) === root) throw refuse(`it is a populated directory directly under ${root} (a system directory such as /opt or /etc); use a directory below it, e.g. ${target}/app`);
  if (guard.force) return;
  if (markedFor !== undefined) throw refuse(`it holds ${markedFor} (${OUTPUT_MARKER}), not ${guard.repository}; pass --force to replace it anyway`);
  throw refuse(`it is not empty and was not written by layer-relay (no ${OUTPUT_MARKER}); pass --force to replace it anyway`);
}

/** True when the relative path `fromTarget` leads down from the target (the target contains it). */
function holds(fromTarget: string): boolean {
  return fromTarget !== '..' && !fromTarget.startsWith('../') && !isAbsolute(fromTarget);
}
