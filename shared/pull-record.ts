import type { ErrorCode } from './errors.ts';

/** Lifecycle of a pull: queued → running → done | failed. */
export type PullState = 'queued' | 'running' | 'done' | 'failed';

/** One layer of the chosen manifest, as stored. `url` and `expiresAt` are added when served. */
export interface LayerRecord {
  digest: string;
  size: number;
  mediaType: string;
  url?: string;
  expiresAt?: string;
}

/**
 * A regular file of a single-layer artifact, stored on its own under `files/<alg>/<hex>` so a host
 * can fetch it with plain curl. `url` and `expiresAt` are added when served.
 */
export interface FileRecord {
  /** Path inside the layer, normalised (`bin/app`, never `./` or `..`). */
  path: string;
  size: number;
  /** Digest of the file's own bytes (sha256), not the layer's. */
  digest: string;
  /** Permission bits as extracted (at most 0755). */
  mode: number;
  url?: string;
  expiresAt?: string;
}

/** The durable record of one pull request (design.md §4). */
export interface PullRecord {
  id: string;
  /** The image as requested, canonical form. */
  image: string;
  /** `os/arch[/variant]`. */
  platform: string;
  state: PullState;
  manifestDigest?: string;
  layers: LayerRecord[];
  /** Single-layer artifacts only: the layer's regular files, each stored and signed on its own. */
  files?: FileRecord[];
  /** Why a single-layer artifact has no `files` (an unsafe or oversized layer); the pull itself is still done. */
  filesError?: { code: ErrorCode; message: string };
  bytesDone?: number;
  bytesTotal?: number;
  error?: { code: ErrorCode; message: string };
  createdAt: string;
  updatedAt: string;
}

/** What the relay knows about a stored blob: where it came from, for lookups by digest. */
export interface BlobRecord {
  digest: string;
  size: number;
  mediaType?: string;
  /** `registry/repository` names this digest was copied from (authorization by digest needs them). */
  repositories: string[];
  /** A single-layer artifact's files (stored under `files/`), kept so a repeat pull need not read the layer back. */
  files?: FileRecord[];
  /** Why the layer's files cannot be listed (a verdict about its content, so it holds for every pull). */
  filesError?: { code: ErrorCode; message: string };
  /**
   * The compression the pull that recorded `files` / `filesError` declared: the verdict depends on it
   * as much as on the bytes, so it is reused only by pulls that declare the same (known-layer-files.ts).
   */
  filesCompression?: 'gzip' | 'zstd' | 'none';
}

/**
 * `blob` recorded over `current`: repositories are a union (every repository the digest was copied
 * from keeps its readers), and fields `blob` does not carry — media type, the files listing — are kept.
 */
export function mergeBlobRecord(current: BlobRecord | undefined, blob: BlobRecord): BlobRecord {
  const repositories = [...new Set([...(current?.repositories ?? []), ...blob.repositories])];
  const mediaType = blob.mediaType ?? current?.mediaType;
  const listing = blob.files !== undefined || blob.filesError !== undefined ? blob : current;
  return {
    digest: blob.digest,
    size: blob.size,
    ...(mediaType === undefined ? {} : { mediaType }),
    repositories,
    ...(listing?.files === undefined ? {} : { files: listing.files }),
    ...(listing?.filesError === undefined ? {} : { filesError: listing.filesError }),
    ...(listing?.filesCompression === undefined ? {} : { filesCompression: listing.filesCompression }),
  };
}

/** True once a pull can no longer change. */
export function isFinished(state: PullState): boolean {
  return state === 'done' || state === 'failed';
}
