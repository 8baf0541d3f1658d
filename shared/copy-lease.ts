import type { Digest } from './digest.ts';

/**
 * How long a lease lives without a heartbeat: long enough that a loaded machine or a slow store
 * round trip never lets a live holder's lease lapse, short enough that the others take over from a
 * crashed holder within a minute.
 */
export const COPY_LEASE_TTL_MS = 30_000;
/** The holder renews three times per lifetime, so two lost heartbeats in a row still keep it. */
export const COPY_LEASE_RENEW_DIVISOR = 3;

/** A lease this worker holds on a digest. */
export interface HeldLease {
  /** Pushes the expiry one lifetime ahead; false when the lease was lost (it lapsed and was taken over). */
  renew(): Promise<boolean>;
  /** Gives the lease up (done, or failed: another worker may try now). A lost lease is left alone. */
  release(): Promise<void>;
}

/**
 * The cross-worker half of "one copy per digest" (design.md §5.5): the store or queue that all
 * workers share decides who copies. A lease names one holder and an expiry; a lapsed lease may be
 * taken over, so a crashed holder delays the others by at most one lifetime.
 */
export interface CopyLeases {
  /** Lifetime of a lease without renewal, ms; the holder renews well within it. */
  readonly ttlMs: number;
  /** The lease on `digest` when it is free or lapsed; undefined while another holder's lease lives. */
  tryAcquire(digest: Digest): Promise<HeldLease | undefined>;
}
