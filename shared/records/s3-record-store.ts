import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { RelayError } from '../errors.ts';
import { mergeBlobRecord, type BlobRecord, type PullRecord, type PullState } from '../pull-record.ts';
import type { CreateOutcome, RecordStore } from '../record-store.ts';
import { S3ActivePulls } from './s3-active-pulls.ts';
import { S3JsonObjects } from './s3-json-objects.ts';

/**
 * Pulls remembered per image and platform. Enough to answer "identical pull in flight" and "latest
 * done pull" (a deploy wave asks about the newest few); older entries age out, their records stay.
 */
export const INDEX_LIMIT = 50;

const ACTIVE: readonly PullState[] = ['queued', 'running'];

/** One pull in an image's index; `state` is a hint that may lag the record (see S3RecordStore). */
interface IndexEntry {
  id: string;
  state: PullState;
  createdAt: string;
}

/** The per-(image, platform) index document, newest pull first. */
interface PullIndex {
  image: string;
  platform: string;
  pulls: IndexEntry[];
}

/** Options for {@link S3RecordStore}. */
export interface S3RecordStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix for every record document, e.g. `records`. */
  prefix: string;
  /** Injectable clock for `updatedAt`. */
  now?: () => Date;
  /** Injectable sleep between conflicting writes (tests). */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Pull and blob records as JSON objects in the bucket (design.md §2), with no lost updates: every
 * write is conditional on the ETag that was read (S3JsonObjects). Layout under the prefix:
 * `pulls/<id>.json` (the record, the truth), `index/<sha256(image, platform)>.json` (ids and state
 * hints for findActive/findLatest), `active/<sha256(image, platform)>.json` (which pull is active,
 * S3ActivePulls), `blobs/<alg>/<hex>.json`. A new pull's index entry is written before its record,
 * so a crash between the two leaves a hint to nothing, never a record nobody can find; lookups
 * confirm every candidate by reading its record, and a stale hint costs one read, never a wrong answer.
 */
export class S3RecordStore implements RecordStore {
  #docs: S3JsonObjects;
  #active: S3ActivePulls;
  #prefix: string;
  #now: () => Date;

  constructor(options: S3RecordStoreOptions) {
    const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    this.#docs = new S3JsonObjects(options.client, options.bucket, sleep);
    this.#prefix = options.prefix.replace(/\/+$/, '');
    this.#now = options.now ?? (() => new Date());
    this.#active = new S3ActivePulls(this.#docs, this.#now, sleep);
  }

  /** Creates with If-None-Match: a duplicate id fails loudly and the first record is kept. */
  async create(record: PullRecord): Promise<void> {
    await this.#indexNew(record);
    const result = await this.#docs.write(this.#pullKey(record.id), record, undefined);
    if (!result.written) throw new RelayError('INTERNAL', `pull record ${record.id} already exists`, { details: { id: record.id } });
  }

  /**
   * Claims the (image, platform) marker first (S3ActivePulls: exactly one of concurrent claims
   * wins), then writes the index entry and the record. A failure after the claim releases it, so
   * no marker points at a pull that will never exist.
   */
  async createUnlessActive(record: PullRecord): Promise<CreateOutcome> {
    const marker = this.#activeKey(record.image, record.platform);
    const claim = await this.#active.claim(marker, record.id, (id) => this.get(id));
    if (!claim.claimed) return { created: false, active: claim.active };
    try {
      await this.create(record);
    } catch (err) {
      await this.#active.release(marker, record.id);
      throw err;
    }
    return { created: true };
  }

  async get(id: string): Promise<PullRecord | undefined> {
    return (await this.#docs.read<PullRecord>(this.#pullKey(id)))?.value;
  }

  /** Conditional read-modify-write of the record, then of the index hint when the state changed. */
  async update(id: string, patch: Partial<Omit<PullRecord, 'id' | 'createdAt'>>): Promise<PullRecord> {
    let previous: PullState | undefined;
    const next = await this.#docs.mutate<PullRecord>(this.#pullKey(id), (current) => {
      if (!current) throw new RelayError('NOT_FOUND', `no pull ${id}`, { details: { id } });
      previous = current.state;
      const merged: PullRecord = { ...current, ...patch, id: current.id, createdAt: current.createdAt, updatedAt: this.#now().toISOString() };
      // A patch value of undefined removes the field, as in the SQLite store.
      return JSON.parse(JSON.stringify(merged)) as PullRecord;
    });
    const record = next!;
    if (previous !== record.state) {
      await this.#docs.mutate<PullIndex>(this.#indexKey(record.image, record.platform), (index) => {
        if (!index?.pulls.some((entry) => entry.id === id && entry.state !== record.state)) return undefined;
        return { ...index, pulls: index.pulls.map((entry) => (entry.id === id ? { ...entry, state: record.state } : entry)) };
      });
      if (!ACTIVE.includes(record.state)) await this.#active.release(this.#activeKey(record.image, record.platform), id);
    }
    return record;
  }

  /** The newest queued or running pull of this image and platform. */
  async findActive(image: string, platform: string): Promise<PullRecord | undefined> {
    return this.#newest(image, platform, ACTIVE);
  }

  /** The newest pull of this image and platform in `state`. */
  async findLatest(image: string, platform: string, state: PullState): Promise<PullRecord | undefined> {
    return this.#newest(image, platform, [state]);
  }

  /** Upserts, keeping every repository the digest was ever copied from (set union) and what the patch leaves out. */
  async putBlob(blob: BlobRecord): Promise<void> {
    await this.#docs.mutate<BlobRecord>(this.#blobKey(blob.digest), (current) => {
      const next = mergeBlobRecord(current, blob);
      return current !== undefined && JSON.stringify(current) === JSON.stringify(next) ? undefined : next;
    });
  }

  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    return (await this.#docs.read<BlobRecord>(this.#blobKey(digest)))?.value;
  }

  /**
   * Candidates are entries hinted in a wanted state, plus active ones (their hint may lag a finished
   * record; finished states are final, so a finished hint never hides an active record).
   */
  async #newest(image: string, platform: string, states: readonly PullState[]): Promise<PullRecord | undefined> {
    const index = await this.#docs.read<PullIndex>(this.#indexKey(image, platform));
    for (const entry of index?.value.pulls ?? []) {
      if (!states.includes(entry.state) && !ACTIVE.includes(entry.state)) continue;
      const record = await this.get(entry.id);
      if (record && states.includes(record.state)) return record;
    }
    return undefined;
  }

  /** Adds a new pull to its image's index (newest first, bounded). */
  async #indexNew(record: PullRecord): Promise<void> {
    await this.#docs.mutate<PullIndex>(this.#indexKey(record.image, record.platform), (index) => {
      const pulls = [{ id: record.id, state: record.state, createdAt: record.createdAt }, ...(index?.pulls ?? []).filter((entry) => entry.id !== record.id)];
      pulls.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
      return { image: record.image, platform: record.platform, pulls: pulls.slice(0, INDEX_LIMIT) };
    });
  }

  #pullKey(id: string): string {
    return `${this.#prefix}/pulls/${encodeURIComponent(id)}.json`;
  }

  #indexKey(image: string, platform: string): string {
    return `${this.#prefix}/index/${imageKey(image, platform)}.json`;
  }

  #activeKey(image: string, platform: string): string {
    return `${this.#prefix}/active/${imageKey(image, platform)}.json`;
  }

  #blobKey(digest: string): string {
    return `${this.#prefix}/blobs/${encodeURIComponent(digest).replace('%3A', '/')}.json`;
  }
}

/** One key per (image, platform): a hash, so any reference fits in an object key. */
function imageKey(image: string, platform: string): string {
  return createHash('sha256').update(`${image}\n${platform}`).digest('hex');
}
