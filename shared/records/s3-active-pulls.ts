import { RelayError } from '../errors.ts';
import type { PullRecord, PullState } from '../pull-record.ts';
import type { S3JsonObjects } from './s3-json-objects.ts';

/** The marker of one (image, platform): the pull that holds it, or null once that pull finished. */
interface ActiveMarker {
  id: string | null;
  createdAt: string;
}

/** The answer to a claim: this pull holds the marker now, or another active pull does. */
export type ActiveClaim = { claimed: true } | { claimed: false; active: PullRecord };

/**
 * An api writes its marker, then its record, within its 10 s Lambda timeout. A marker whose record is
 * still missing a minute later belongs to an api that died in between: it may be taken over.
 */
export const MARKER_STALE_MS = 60_000;
/** Between a winner's marker and its record lie two S3 writes: losers look again this often... */
const RECORD_POLL_MS = 50;
/** ...for at most this long (well inside the api's 10 s timeout), conflicting takeovers included. */
export const CLAIM_WAIT_MS = 5_000;

const ACTIVE: readonly PullState[] = ['queued', 'running'];

/**
 * "An identical pull already queued or running" made atomic on S3 (design.md §4). One marker
 * object per (image, platform), `<prefix>/active/<sha256>.json`, names the pull that holds it. It is
 * created with `If-None-Match: *` and replaced only with `If-Match` on the ETag that was read, so
 * of any number of concurrent claims exactly one wins; the others answer with the winner's pull.
 * A marker is free when its pull finished (released, or its record says done/failed) or when its
 * record never appeared ({@link MARKER_STALE_MS}); the state of the record, not the marker, is the
 * truth, so a release that failed costs one read later and never a wrong answer.
 */
export class S3ActivePulls {
  #docs: S3JsonObjects;
  #now: () => Date;
  #sleep: (ms: number) => Promise<void>;

  constructor(docs: S3JsonObjects, now: () => Date, sleep: (ms: number) => Promise<void>) {
    this.#docs = docs;
    this.#now = now;
    this.#sleep = sleep;
  }

  /** Claims `key` for pull `id`, or returns the active pull holding it; `read` fetches a pull record. */
  async claim(key: string, id: string, read: (id: string) => Promise<PullRecord | undefined>): Promise<ActiveClaim> {
    const mine: ActiveMarker = { id, createdAt: this.#now().toISOString() };
    // Elapsed time is measured on the real clock: `now` may be a test's fixed one.
    for (const deadline = performance.now() + CLAIM_WAIT_MS; performance.now() < deadline; ) {
      const current = await this.#docs.read<ActiveMarker>(key);
      if (current === undefined) {
        if ((await this.#docs.write(key, mine, undefined)).written) return { claimed: true };
        continue; // another claim created it first: look at whose it is
      }
      const holder = current.value.id;
      if (holder !== null && holder !== id) {
        const record = await read(holder);
        if (record && ACTIVE.includes(record.state)) return { claimed: false, active: record };
        if (!record && this.#now().getTime() - Date.parse(current.value.createdAt) < MARKER_STALE_MS) {
          await this.#sleep(RECORD_POLL_MS); // the holder is between its marker and its record
          continue;
        }
      }
      if ((await this.#docs.write(key, mine, current.etag)).written) return { claimed: true };
    }
    throw new RelayError('STORE_UNAVAILABLE', 'could not settle which pull is active for this image; try again', { details: { key } });
  }

  /**
   * Frees `key` if pull `id` still holds it. Best effort: a marker left behind is freed by the next
   * claim, which reads the finished record; a 412 means another claim took it over already.
   */
  async release(key: string, id: string): Promise<void> {
    try {
      const current = await this.#docs.read<ActiveMarker>(key);
      if (current?.value.id !== id) return;
      await this.#docs.write(key, { id: null, createdAt: this.#now().toISOString() } satisfies ActiveMarker, current.etag);
    } catch {
      // See above: the record's final state already frees the marker for the next claim.
    }
  }
}
