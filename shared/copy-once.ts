import { setTimeout as sleep } from 'node:timers/promises';
import type { StoredObject } from './blob-store.ts';
import { COPY_LEASE_RENEW_DIVISOR, type CopyLeases, type HeldLease } from './copy-lease.ts';
import type { Digest } from './digest.ts';
import { errorFields, type Logger } from './log.ts';

/** First wait for another worker's copy: a small layer is done within tens of milliseconds. */
export const WAIT_FIRST_POLL_MS = 50;
/** Waits grow by half each time up to this, so a multi-GiB copy costs a stat a second, not a hundred. */
export const WAIT_MAX_POLL_MS = 1_000;

/** What {@link copyOnce} works with. */
export interface CopyOnceOptions {
  digest: Digest;
  leases: CopyLeases;
  /** The stored object, or undefined (BlobStore.stat). */
  stat: () => Promise<StoredObject | undefined>;
  /** Copies the blob into the store (registry → verified put). Runs only under the lease. */
  copy: () => Promise<StoredObject>;
  log: Logger;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<unknown>;
}

/**
 * One copy per digest across workers that share a store (design.md §5.5):
 * 1. stored already → done, nothing copied;
 * 2. take the digest's lease → look again (the last holder may just have finished) → copy, renewing
 *    the lease as a heartbeat, and release it whatever happens (a failed copy lets the next try);
 * 3. someone else holds it → wait for the object (stat, backing off) and go back to 1; a holder
 *    that dies stops renewing, its lease lapses, and step 2 takes it over.
 */
export async function copyOnce(options: CopyOnceOptions): Promise<StoredObject> {
  const wait = options.sleep ?? sleep;
  let pollMs = WAIT_FIRST_POLL_MS;
  for (let waited = false; ; waited = true) {
    const present = await options.stat();
    if (present) {
      if (waited) options.log.info('blob copied by another worker', { digest: options.digest });
      return present;
    }
    const lease = await options.leases.tryAcquire(options.digest);
    if (lease) return copyUnderLease(options, lease);
    if (!waited) options.log.info('another worker is copying this blob; waiting for it', { digest: options.digest });
    await wait(pollMs);
    pollMs = Math.min(WAIT_MAX_POLL_MS, Math.round(pollMs * 1.5));
  }
}

async function copyUnderLease(options: CopyOnceOptions, lease: HeldLease): Promise<StoredObject> {
  const heartbeat = startHeartbeat(lease, options.leases.ttlMs / COPY_LEASE_RENEW_DIVISOR, options);
  try {
    return (await options.stat()) ?? (await options.copy());
  } finally {
    await heartbeat.stop();
    await lease.release().catch((err: unknown) => options.log.warn('could not release the copy lease; it lapses on its own', { digest: options.digest, ...errorFields(err) }));
  }
}

/**
 * Renews every `intervalMs` until stopped. A lost lease does not stop the copy: the object is
 * content-addressed and verified, so a second writer costs registry bytes, never correctness.
 */
function startHeartbeat(lease: HeldLease, intervalMs: number, options: CopyOnceOptions): { stop(): Promise<void> } {
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      const kept = await lease.renew().catch((err: unknown) => {
        options.log.warn('copy lease heartbeat failed', { digest: options.digest, ...errorFields(err) });
        return true; // unknown: the next beat tries again
      });
      if (!kept) options.log.warn('copy lease lost to another worker; copying on', { digest: options.digest });
    });
  }, intervalMs);
  timer.unref();
  return {
    // A renewal in flight finishes first, so it cannot land after (and undo) the release.
    stop: () => {
      clearInterval(timer);
      return renewing;
    },
  };
}
