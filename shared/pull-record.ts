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
}

/** True once a pull can no longer change. */
export function isFinished(state: PullState): boolean {
  return state === 'done' || state === 'failed';
}
