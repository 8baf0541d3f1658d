import { DatabaseSync } from 'node:sqlite';
import { RelayError } from '../errors.ts';
import { mergeBlobRecord, type BlobRecord, type PullRecord, type PullState } from '../pull-record.ts';
import { immediateTransaction, openSqliteDatabase, type SqliteSource } from '../queue/sqlite-database.ts';
import type { CreateOutcome, RecordStore } from '../record-store.ts';

/** Options for {@link SqliteRecordStore}. */
export type SqliteRecordStoreOptions = SqliteSource & {
  /** Injectable clock for `updatedAt`. */
  now?: () => Date;
};

// The record is kept whole as JSON; the columns beside it exist only to be indexed and queried.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS pulls (
  id TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  platform TEXT NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pulls_active ON pulls (image, platform, state, created_at);
CREATE TABLE IF NOT EXISTS blobs (
  digest TEXT PRIMARY KEY,
  record TEXT NOT NULL
);
`;

/** Pull and blob records in SQLite; may share its file (and connection) with SqliteJobQueue. */
export class SqliteRecordStore implements RecordStore {
  #db: DatabaseSync;
  #owned: boolean;
  #now: () => Date;

  /** A path, an open database (e.g. `queue.database`), or options with either. */
  constructor(source: SqliteRecordStoreOptions | DatabaseSync) {
    const options: SqliteRecordStoreOptions = source instanceof DatabaseSync ? { database: source } : source;
    const { db, owned } = openSqliteDatabase(options);
    this.#db = db;
    this.#owned = owned;
    this.#now = options.now ?? (() => new Date());
    this.#db.exec(SCHEMA);
  }

  /** Inserts; a duplicate id is a bug in whoever made the id, so it fails loudly. */
  async create(record: PullRecord): Promise<void> {
    this.#insert(record);
  }

  /** Looks and inserts under one write lock, so concurrent identical requests cannot both insert. */
  async createUnlessActive(record: PullRecord): Promise<CreateOutcome> {
    return immediateTransaction(this.#db, (): CreateOutcome => {
      const active = this.#newest(record.image, record.platform, ['queued', 'running']);
      if (active) return { created: false, active };
      this.#insert(record);
      return { created: true };
    });
  }

  async get(id: string): Promise<PullRecord | undefined> {
    return this.#read(id);
  }

  /**
   * Read-modify-write under the write lock, so two writers (the worker's progress and its final
   * state) cannot drop each other's fields. A patch value of `undefined` removes the field.
   */
  async update(id: string, patch: Partial<Omit<PullRecord, 'id' | 'createdAt'>>): Promise<PullRecord> {
    return immediateTransaction(this.#db, () => {
      const current = this.#read(id);
      if (!current) throw new RelayError('NOT_FOUND', `no pull ${id}`, { details: { id } });
      const next: PullRecord = { ...current, ...patch, id: current.id, createdAt: current.createdAt, updatedAt: this.#now().toISOString() };
      const stored = JSON.parse(JSON.stringify(next)) as PullRecord;
      this.#db
        .prepare('UPDATE pulls SET image = ?, platform = ?, state = ?, updated_at = ?, record = ? WHERE id = ?')
        .run(stored.image, stored.platform, stored.state, stored.updatedAt, JSON.stringify(stored), id);
      return stored;
    });
  }

  /** The newest queued or running pull of this image and platform. */
  async findActive(image: string, platform: string): Promise<PullRecord | undefined> {
    return this.#newest(image, platform, ['queued', 'running']);
  }

  /** The newest pull of this image and platform in `state`. */
  async findLatest(image: string, platform: string, state: PullState): Promise<PullRecord | undefined> {
    return this.#newest(image, platform, [state]);
  }

  /** Upserts, keeping every repository the digest was ever copied from (set union) and what the patch leaves out. */
  async putBlob(blob: BlobRecord): Promise<void> {
    immediateTransaction(this.#db, () => {
      const next = mergeBlobRecord(this.#readBlob(blob.digest), blob);
      this.#db
        .prepare('INSERT INTO blobs (digest, record) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET record = excluded.record')
        .run(blob.digest, JSON.stringify(next));
    });
  }

  async getBlob(digest: string): Promise<BlobRecord | undefined> {
    return this.#readBlob(digest);
  }

  /** Closes the database if this store opened it. */
  close(): void {
    if (this.#owned && this.#db.isOpen) this.#db.close();
  }

  #newest(image: string, platform: string, states: PullState[]): PullRecord | undefined {
    const placeholders = states.map(() => '?').join(', ');
    const row = this.#db
      .prepare(
        `SELECT record FROM pulls WHERE image = ? AND platform = ? AND state IN (${placeholders})
         ORDER BY created_at DESC, rowid DESC LIMIT 1`,
      )
      .get(image, platform, ...states) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as PullRecord) : undefined;
  }

  #insert(record: PullRecord): void {
    try {
      this.#db
        .prepare('INSERT INTO pulls (id, image, platform, state, created_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(record.id, record.image, record.platform, record.state, record.createdAt, record.updatedAt, JSON.stringify(record));
    } catch (err) {
      if (isConstraintError(err)) {
        throw new RelayError('INTERNAL', `pull record ${record.id} already exists`, { cause: err, details: { id: record.id } });
      }
      throw err;
    }
  }

  #read(id: string): PullRecord | undefined {
    const row = this.#db.prepare('SELECT record FROM pulls WHERE id = ?').get(id) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as PullRecord) : undefined;
  }

  #readBlob(digest: string): BlobRecord | undefined {
    const row = this.#db.prepare('SELECT record FROM blobs WHERE digest = ?').get(digest) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as BlobRecord) : undefined;
  }
}

/** SQLite's primary result code for constraint violations (extended codes keep it in the low byte). */
const SQLITE_CONSTRAINT = 19;

function isConstraintError(err: unknown): boolean {
  // node:sqlite throws ERR_SQLITE_ERROR with the SQLite extended result code in `errcode`.
  const errcode = (err as { errcode?: unknown } | null)?.errcode;
  return typeof errcode === 'number' && (errcode & 0xff) === SQLITE_CONSTRAINT;
}
