import { setTimeout as delay } from 'node:timers/promises';
import { isRelayError } from './errors.ts';

/**
 * The one retry policy (oras-go's retry/policy.go): which errors are retried (only
 * `RelayError.retryable`), how many times, how long between tries, and how far a server's
 * `Retry-After` is honoured. Retries happen in one layer only — around a whole registry
 * request — so they never multiply (field case G3).
 */
export interface RetryPolicyOptions {
  /** Tries in total, the first one included. */
  readonly maxAttempts: number;
  /** Backoff ceiling of the first retry; doubles on each further retry. */
  readonly baseDelayMs: number;
  /** Backoff ceiling never exceeds this. */
  readonly maxDelayMs: number;
  /** A server's Retry-After is obeyed up to this long (and never waits less than the backoff would). */
  readonly maxRetryAfterMs: number;
  /** Waits; injectable so tests run without real time. */
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1); injectable so tests see deterministic jitter. */
  readonly random: () => number;
  /** Called before each wait, e.g. to log the (already redacted) error. */
  readonly onRetry?: ((error: unknown, attempt: number, delayMs: number) => void) | undefined;
}

/** A retry policy: its settings plus the loop that applies them. */
export interface RetryPolicy extends RetryPolicyOptions {
  /** Runs `fn` (given the 1-based attempt number) until it succeeds, fails for good, or attempts run out. */
  retry<T>(fn: (attempt: number) => Promise<T>): Promise<T>;
  /** How long to wait after failed attempt `attempt` (1-based) with `error`. */
  delayFor(attempt: number, error: unknown): number;
}

/*
 * Retries must not multiply (field case G3). Two layers retry, on purpose, for different faults:
 * this policy retries one registry request (a 503, a reset before the answer) within a running
 * delivery; the worker's queue (handle-job.ts, RELAY_MAX_ATTEMPTS = 3) retries whole deliveries
 * (a digest mismatch, a resume the server refused, or this policy giving up). So a 503 storm costs
 *   requests:  DEFAULT_MAX_ATTEMPTS × RELAY_MAX_ATTEMPTS = 3 × 3 = 9 (it was 5 × 3 = 15),
 *   waiting:   per delivery ≤ 2 waits × DEFAULT_MAX_RETRY_AFTER_MS = 20 s (≤ 0.5 s + 1 s of jittered
 *              backoff without Retry-After), plus the queue's 2 s + 4 s between deliveries:
 *              ≤ 3 × 20 + 6 = 66 s in all before the pull is marked failed, instead of minutes.
 * Range resumes of a blob body (resumable-blob.ts) are not retries of this kind: each needs progress.
 */
/** Three tries per request: two quick retries ride out a restarting registry pod; longer outages are the queue's to wait out. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Half a second before the first retry: long enough for a restarted registry pod to answer. */
export const DEFAULT_BASE_DELAY_MS = 500;
/** Ten seconds at most between tries, so a pull fails within a minute or so rather than hanging. */
export const DEFAULT_MAX_DELAY_MS = 10_000;
/** Obey Retry-After up to 10 s: longer waits belong to the queue's redelivery, not a running worker. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 10_000;

/** A policy with the defaults above, overridden field by field. */
export function createRetryPolicy(overrides: Partial<RetryPolicyOptions> = {}): RetryPolicy {
  const options: RetryPolicyOptions = {
    maxAttempts: DEFAULT_MAX_ATTEMPTS,
    baseDelayMs: DEFAULT_BASE_DELAY_MS,
    maxDelayMs: DEFAULT_MAX_DELAY_MS,
    maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
    sleep: (ms) => delay(ms),
    random: Math.random,
    ...overrides,
  };
  const delayFor = (attempt: number, error: unknown): number => {
    // Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter").
    const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
    const backoff = Math.floor(options.random() * ceiling);
    const retryAfterMs = isRelayError(error) ? error.retryAfterMs : undefined;
    if (retryAfterMs === undefined) return backoff;
    // The server's wait, capped; but never less than our own backoff: `Retry-After: 0` or a date
    // already past (clock skew between us and the registry) must not turn into retrying at once.
    return Math.max(Math.min(Math.max(0, retryAfterMs), options.maxRetryAfterMs), backoff);
  };
  return {
    ...options,
    delayFor,
    async retry<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn(attempt);
        } catch (error) {
          if (!isRelayError(error) || !error.retryable || attempt >= options.maxAttempts) throw error;
          const wait = delayFor(attempt, error);
          options.onRetry?.(error, attempt, wait);
          await options.sleep(wait);
        }
      }
    },
  };
}

/** A policy that never retries: for callers that retry in another layer (a queue redelivery). */
export const NO_RETRY: RetryPolicy = createRetryPolicy({ maxAttempts: 1 });
