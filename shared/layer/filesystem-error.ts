import { RelayError } from '../errors.ts';

/** errno codes that trying again on the same machine cannot fix: permissions, read-only mounts, names too long for it. */
const NEEDS_AN_OPERATOR: ReadonlySet<string> = new Set(['EACCES', 'EPERM', 'EROFS', 'ENAMETOOLONG']);

/** True for an error raised by a system call (it carries `code` and `syscall`), as opposed to a fault in the layer's bytes. */
export function isFilesystemError(err: unknown): err is NodeJS.ErrnoException & { code: string } {
  const candidate = err as NodeJS.ErrnoException | undefined;
  return err instanceof Error && typeof candidate?.code === 'string' && typeof candidate.syscall === 'string';
}

/**
 * A failed open, write, mkdir... while extracting or staging, as FILESYSTEM_ERROR. A full /tmp or
 * too many open files says nothing about the layer: calling it LAYER_INVALID made the worker record
 * a transient disk-full as a lasting verdict on the layer (h2 B3, h4 B5).
 */
export function filesystemError(err: NodeJS.ErrnoException & { code: string }): RelayError {
  return new RelayError('FILESYSTEM_ERROR', `writing to local disk failed: ${err.message}`, { cause: err, retryable: !NEEDS_AN_OPERATOR.has(err.code), details: { errno: err.code } });
}
