import type { BlobRecord, PullRecord, PullState } from './pull-record.ts';

/** What {@link RecordStore.createUnlessActive} did: created the record, or found an active identical pull. */
export type CreateOutcome = { created: true } | { created: false; active: PullRecord };

/** The pull-record port. */
export interface RecordStore {
  /** Stores a new record; fails if the id exists. */
  create(record: PullRecord): Promise<void>;
  /**
   * Stores a new queued record unless a queued or running pull of the same image and platform
   * exists, as one atomic step: of concurrent identical calls exactly one creates, the others get
   * its pull (design.md §4, a deploy wave of hosts asking at once).
   */
  createUnlessActive(record: PullRecord): Promise<CreateOutcome>;
  get(id: string): Promise<PullRecord | undefined>;
  /** Applies `patch`, bumps `updatedAt`, and returns the new record. */
  update(id: string, patch: Partial<Omit<PullRecord, 'id' | 'createdAt'>>): Promise<PullRecord>;
  /** A queued or running pull of the same image and platform, to return instead of a new one. */
  findActive(image: string, platform: string): Promise<PullRecord | undefined>;
  /** The newest pull of the same image and platform in `state` (a finished copy to answer from). */
  findLatest(image: string, platform: string, state: PullState): Promise<PullRecord | undefined>;
  /** Records (merging repositories) what the relay holds under a digest. */
  putBlob(blob: BlobRecord): Promise<void>;
  getBlob(digest: string): Promise<BlobRecord | undefined>;
}
