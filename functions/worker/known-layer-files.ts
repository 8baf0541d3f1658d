import { compressionOf } from '../../shared/layer/decode-layer.ts';
import type { ErrorCode } from '../../shared/errors.ts';
import type { BlobRecord } from '../../shared/pull-record.ts';
import type { FilesOutcome } from './store-files.ts';

/** Verdicts about a layer's content: the same bytes always earn the same one, so they are worth keeping. */
const CONTENT_VERDICTS: ReadonlySet<ErrorCode> = new Set(['UNSAFE_ENTRY', 'LAYER_INVALID', 'LIMIT_EXCEEDED']);

/**
 * The files listing an earlier pull recorded on the layer's blob record, when that pull declared the
 * same compression as `mediaType`. A layer is content-addressed and its files were stored before the
 * listing was recorded, so a repeat pull answers from here instead of reading the whole layer back
 * (which took seconds for 64 MiB). The verdict is a function of the bytes *and* the compression the
 * media type declares (decode-layer.ts): keyed on the digest alone, one repository's wrong media type
 * decided another's listing (h2 B2). Records from before the compression was kept are not trusted.
 */
export function knownLayerFiles(blob: BlobRecord | undefined, mediaType: string): FilesOutcome | undefined {
  const compression = compressionOf(mediaType);
  if (blob === undefined || compression === undefined || blob.filesCompression !== compression) return undefined;
  if (blob.files !== undefined) return { files: blob.files, filesError: undefined };
  if (blob.filesError !== undefined) return { files: undefined, filesError: blob.filesError };
  return undefined;
}

/**
 * The part of a files outcome to remember on the blob record, with the compression it holds for: a
 * listing or a content verdict, never a passing fault (a full disk, a store error).
 */
export function lastingLayerFiles(outcome: FilesOutcome, mediaType: string): Pick<BlobRecord, 'files' | 'filesError' | 'filesCompression'> | undefined {
  const filesCompression = compressionOf(mediaType);
  if (filesCompression === undefined) return undefined; // no tar: nothing was read, nothing to save
  if (outcome.files !== undefined) return { filesCompression, files: outcome.files.map(({ path, size, digest, mode }) => ({ path, size, digest, mode })) };
  if (outcome.filesError !== undefined && CONTENT_VERDICTS.has(outcome.filesError.code)) return { filesCompression, filesError: outcome.filesError };
  return undefined;
}
