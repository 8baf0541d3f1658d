import type { DatabaseSync } from 'node:sqlite';
import { RelayError } from '../errors.ts';
import type { PolledJobQueue, ReceivedJob } from '../job-queue.ts';
import { PullMessageSchema, type PullMessage } from '../queue-message.ts';
import { openSqliteDatabase, type SqliteSource } from './sqlite-database.ts';

/**
 * How long a received message stays hidden: longer than the local worker needs to copy a large
 * layer, short enough that a crashed worker's job is retried within minutes (SQS's own default
 * is 30 s, which is too short for multi-GiB layers without heartbeats).
 */
export const DEFAULT_VISIBILITY_TIMEOUT_MS = 5 * 60_000;
/** SQS refuses release delays over 12 hours (ChangeMessageVisibility); so do we. */
export const MAX_RELEASE_DELAY_SECONDS = 12 * 60 * 60;

/** Options for {@link SqliteJobQueue}. */
export type SqliteJobQueueOptions = SqliteSource & {
  visibilityTimeoutMs?: number;
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
};

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  visible_at INTEGER NOT NULL,
  receive_count INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_visible ON jobs (visible_at, id);
`;

/**
 * The local job queue: a SQLite table with SQS semantics — visibility timeouts, receive counts, and
 * receipts that stop working once someone else has received the message. AUTOINCREMENT ids never
 * repeat, so ordering by id is enqueue order.
 */
export class SqliteJobQueue implements PolledJobQueue {
  readonly visibilityTimeoutMs: number;
  #db: DatabaseSync;
  #owned: boolean;
  #now: () => number;

  constructor(options: SqliteJobQueueOptions) {
    const { db, owned } = openSqliteDatabase(options);
    this.#db = db;
    this.#owned = owned;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? DEFAULT_VISIBILITY_TIMEOUT_MS;
    this.#now = options.now ?? Date.now;
    this.#db.exec(SCHEMA);
  }

  /** The open database, so the record store can share the file and connection. */
  get database(): DatabaseSync {
    return this.#db;
  }

  /** Validates with the shared schema, so a malformed job never reaches the queue. */
  async send(message: PullMessage): Promise<void> {
    const parsed = PullMessageSchema.safeParse(message);
    if (!parsed.success) {
      throw new RelayError('INVALID_REQUEST', 'queue message does not match PullMessageSchema', { cause: parsed.error });
    }
    const now = this.#now();
    this.#db
      .prepare('INSERT INTO jobs (body, visible_at, receive_count, created_at) VALUES (?, ?, 0, ?)')
      .run(JSON.stringify(parsed.data), now, now);
  }

  /**
   * Takes up to `max` visible messages, oldest first. One UPDATE statement holds the write lock from
   * its first read, so two receivers (even in two processes) never get the same message.
   */
  async receive(max: number): Promise<ReceivedJob[]> {
    if (!Number.isInteger(max) || max < 1) throw new RelayError('INVALID_REQUEST', 'receive needs a positive count');
    const now = this.#now();
    const rows = this.#db
      .prepare(
        `UPDATE jobs SET visible_at = ?, receive_count = receive_count + 1
         WHERE id IN (SELECT id FROM jobs WHERE visible_at <= ? ORDER BY id LIMIT ?)
         RETURNING id, body, receive_count`,
      )
      .all(now + this.visibilityTimeoutMs, now, max) as { id: number; body: string; receive_count: number }[];
    // RETURNING order is unspecified in SQLite; restore FIFO.
    rows.sort((a, b) => a.id - b.id);
    return rows.map((row) => ({
      body: JSON.parse(row.body) as unknown,
      receipt: `${row.id}:${row.receive_count}`,
      receiveCount: row.receive_count,
    }));
  }

  /** Deletes the message; a stale receipt (the message was received again since) does nothing. */
  async delete(receipt: string): Promise<void> {
    const { id, receiveCount } = parseReceipt(receipt);
    this.#db.prepare('DELETE FROM jobs WHERE id = ? AND receive_count = ?').run(id, receiveCount);
  }

  /** Makes the message visible again after `delaySeconds`; a stale receipt does nothing. */
  async release(receipt: string, delaySeconds: number): Promise<void> {
    const { id, receiveCount } = parseReceipt(receipt);
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_RELEASE_DELAY_SECONDS) {
      throw new RelayError('INVALID_REQUEST', `release delay must be 0..${MAX_RELEASE_DELAY_SECONDS} seconds`);
    }
    this.#db
      .prepare('UPDATE jobs SET visible_at = ? WHERE id = ? AND receive_count = ?')
      .run(this.#now() + Math.round(delaySeconds * 1000), id, receiveCount);
  }

  /** Messages not yet deleted, visible or in flight (for tests and metrics). */
  async depth(): Promise<number> {
    const row = this.#db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number };
    return row.n;
  }

  /** Closes the database if this queue opened it. */
  close(): void {
    if (this.#owned && this.#db.isOpen) this.#db.close();
  }
}

/** Receipts are `<id>:<receiveCount>`: bound to one delivery, like an SQS receipt handle. */
function parseReceipt(receipt: string): { id: number; receiveCount: number } {
  const match = /^([0-9]{1,15}):([0-9]{1,9})$/.exec(receipt);
  if (!match) throw new RelayError('INVALID_REQUEST', 'not a receipt from this queue');
  return { id: Number(match[1]), receiveCount: Number(match[2]) };
}
