import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * How long a connection waits for another writer's lock before failing with SQLITE_BUSY. The local
 * server, the worker loop and the CLI may share one file; their transactions last milliseconds.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000;

/** Where a SQLite-backed adapter keeps its tables: a file (or ':memory:'), or a database already open. */
export type SqliteSource = { path: string } | { database: DatabaseSync };

/** An open database and whether the adapter that opened it should close it. */
export interface SqliteHandle {
  db: DatabaseSync;
  owned: boolean;
}

/**
 * Opens (or adopts) the database: WAL so readers never block the writer and a crash mid-commit
 * loses nothing committed, and a busy timeout so concurrent writers wait instead of failing.
 */
export function openSqliteDatabase(source: SqliteSource): SqliteHandle {
  if ('database' in source) return { db: source.database, owned: false };
  if (source.path !== ':memory:') mkdirSync(dirname(source.path), { recursive: true });
  const db = new DatabaseSync(source.path);
  db.exec(`PRAGMA busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  if (source.path !== ':memory:') db.exec('PRAGMA journal_mode = WAL');
  // WAL makes NORMAL durable against application crashes; only a power cut can lose the last commits.
  db.exec('PRAGMA synchronous = NORMAL');
  return { db, owned: true };
}

/**
 * Runs `work` inside `BEGIN IMMEDIATE`: the write lock is taken before the first read, so a
 * read-modify-write cannot interleave with another connection's (a deferred transaction would
 * fail to upgrade with SQLITE_BUSY_SNAPSHOT in WAL mode, without waiting).
 */
export function immediateTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}
