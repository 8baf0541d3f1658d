import { posix } from 'node:path';
import { RelayError } from '../errors.ts';
import { printableText } from '../printable-text.ts';

/** Longest entry name we accept: PATH_MAX on Linux; longer names are never legitimate. */
export const MAX_ENTRY_PATH_LENGTH = 4096;

/**
 * A tar entry name as a path relative to the output root: `./a/b` → `a/b` (field case J5), `./` →
 * undefined (the root itself). Absolute names, drive letters, NUL bytes and names that climb out
 * with `..` throw UNSAFE_ENTRY (J1); the caller refuses the whole layer.
 */
export function safeEntryPath(name: string): string | undefined {
  if (name.length > MAX_ENTRY_PATH_LENGTH || name.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(name) || name.includes('\0')) throw unsafeEntry(name, 'would be written outside the output directory');
  const normalised = posix.normalize(name.replace(/\\/g, '/'));
  if (normalised === '.' || normalised === './') return undefined;
  if (normalised === '..' || normalised.startsWith('../')) throw unsafeEntry(name, 'would be written outside the output directory');
  return normalised.replace(/\/+$/, '').replace(/^\.\//, '');
}

/** Longest name of one path component: NAME_MAX on Linux file systems (bytes); longer names cannot be created. */
export const MAX_NAME_BYTES = 255;

/**
 * Refuses a normalised entry path that no host could extract: a component longer than NAME_MAX
 * (LAYER_INVALID: the host failed with ENAMETOOLONG while the worker, which stages by digest,
 * listed it), or more than `maxDepth` components (LIMIT_EXCEEDED, J7). Both consumers run it before
 * their own work, so they agree.
 */
export function checkPathShape(path: string, maxDepth: number): void {
  const names = path.split('/');
  if (names.length > maxDepth) {
    throw new RelayError('LIMIT_EXCEEDED', `layer entry "${printableText(path)}" is ${names.length} directories deep, more than the limit of ${maxDepth}`, { details: { limit: 'maxDepth', value: maxDepth } });
  }
  if (names.some((name) => Buffer.byteLength(name) > MAX_NAME_BYTES)) {
    throw new RelayError('LAYER_INVALID', `layer entry "${printableText(path)}" has a name longer than ${MAX_NAME_BYTES} bytes, which Linux file systems cannot hold`, { details: { entry: printableText(path) } });
  }
}

/** The UNSAFE_ENTRY error for entry `name`; names are cut so a hostile layer cannot flood a terminal. */
export function unsafeEntry(name: string, why: string): RelayError {
  return new RelayError('UNSAFE_ENTRY', `layer entry "${printableText(name)}" ${why}; the layer was refused`, { details: { entry: printableText(name) } });
}
