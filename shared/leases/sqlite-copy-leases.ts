import { randomUUID } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { COPY_LEASE_TTL_MS, type CopyLeases, type HeldLease } from '../copy-lease.ts';
import type { Digest } from '../digest.ts';
import { openSqliteDatabase, type SqliteSource } from '../queue/sqlite-database.ts';

/** Options for {@link SqliteCopyLeases}. */
export type SqliteCopyLeasesOptions = SqliteSource & {
  ttlMs?: number;
  /** Milliseconds since the epoch; injectable so tests can move time. Processes sharing the file share the machine's clock. */
  now?: () => number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS copy_leases (
  digest TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
`;

/**
 * Copy leases as rows of the SQLite file the local relays already share for queue and records
 * (RELAY_QUEUE), so every worker on one store sees the same table. Taking a lease is one UPSERT:
 * it inserts, or overwrites only a lapsed row, under SQLite's write lock — two processes can never
 * both get a row back. Each acquisition gets its own holder id, so renew and release touch only
 * the caller's own lease, never one taken over from it.
 */
export class SqliteCopyLeases implements CopyLeases {
  readonly ttlMs: number;
  #db: DatabaseSync;
  #owned: boolean;
  #now: () => number;

  constructor(options: SqliteCopyLeasesOptions) {
    const { db, owned } = openSqliteDatabase(options);
    this.#db = db;
    this.#owned = owned;
    this.ttlMs = options.ttlMs ?? COPY_LEASE_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#db.exec(SCHEMA);
  }

  async tryAcquire(digest: Digest): Promise<HeldLease | undefined> {
    const holder = randomUUID();
    const now = this.#now();
    const taken = this.#db
      .prepare(
        `INSERT INTO copy_leases (digest, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE copy_leases.expires_at <= ?
         RETURNING holder`,
      )
      .get(digest, holder, now + this.ttlMs, now);
    return taken === undefined ? undefined : this.#held(digest, holder);
  }

  /** Closes the database if these leases opened it. */
  close(): void {
    if (this.#owned && this.#db.isOpen) this.#db.close();
  }

  #held(digest: Digest, holder: string): HeldLease {
    return {
      renew: async () => {
        const result = this.#db.prepare('UPDATE copy_leases SET expires_at = ? WHERE digest = ? AND holder = ?').run(this.#now() + this.ttlMs, digest, holder);
        return Number(result.changes) === 1;
      },
      release: async () => {
        this.#db.prepare('DELETE FROM copy_leases WHERE digest = ? AND holder = ?').run(digest, holder);
      },
    };
  }
}
