import type { ErrorCode } from '../../shared/errors.ts';
import type { BlobRecord } from '../../shared/pull-record.ts';
import type { FilesOutcome } from './store-files.ts';

/** Verdicts about a layer's content: the same bytes always earn the same one, so they are worth keeping. */
const CONTENT_VERDICTS: ReadonlySet<ErrorCode> = new Set(['UNSAFE_ENTRY', 'LAYER_INVALID', 'LIMIT_EXCEEDED']);

/**
 * The files listing an earlier pull recorded on the layer's blob record. A layer is
 * content-addressed and its files were stored before the listing was recorded, so a repeat pull
 * answers from here instead of reading the whole layer back (which took seconds for 64 MiB).
 */
export function knownLayerFiles(blob: BlobRecord | undefined): FilesOutcome | undefined {
  if (blob?.files !== undefined) return { files: blob.files, filesError: undefined };
  if (blob?.filesError !== undefined) return { files: undefined, filesError: blob.filesError };
  return undefined;
}

/** The part of a files outcome to remember on the blob record: a listing or a content verdict, never a passing fault. */
export function lastingLayerFiles(outcome: FilesOutcome): Pick<BlobRecord, 'files' | 'filesError'> | undefined {
  if (outcome.files !== undefined) return { files: outcome.files.map(({ path, size, digest, mode }) => ({ path, size, digest, mode })) };
  if (outcome.filesError !== undefined && CONTENT_VERDICTS.has(outcome.filesError.code)) return { filesError: outcome.filesError };
  return undefined;
}
