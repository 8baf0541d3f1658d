import { toRelayError, type RelayError } from '../../shared/errors.ts';
import { errorFields } from '../../shared/log.ts';
import { PullMessageSchema } from '../../shared/queue-message.ts';
import { relayPull, type RelayPullDeps } from './relay-pull.ts';

/** What to do with a delivered message once the worker is through with it. */
export type JobOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; delaySeconds: number; error: RelayError }
  | { kind: 'failed'; error: RelayError }
  | { kind: 'dropped'; reason: string };

/** First retry waits this long, doubling each attempt: transient registry faults usually clear within seconds. */
export const RETRY_BASE_DELAY_SECONDS = 2;
/** Never wait longer than this between attempts of one pull. */
export const RETRY_MAX_DELAY_SECONDS = 60;

/** Options for {@link handleJob}. */
export interface HandleJobOptions {
  /** Deliveries allowed in all; the last one's retryable failure is final. */
  maxAttempts: number;
  retryBaseDelaySeconds?: number;
}

/**
 * Runs one delivery of a queue message and decides its fate, the single place where errors are
 * translated for the queue: retryable faults go back with backoff while attempts remain; permanent
 * ones, and the last attempt, mark the pull failed with the error's code and message.
 */
export async function handleJob(deps: RelayPullDeps, body: unknown, receiveCount: number, options: HandleJobOptions): Promise<JobOutcome> {
  const parsed = PullMessageSchema.safeParse(body);
  if (!parsed.success) {
    deps.log.error('invalid queue message dropped', { issues: parsed.error.issues.map((issue) => issue.message) });
    return { kind: 'dropped', reason: 'invalid message' };
  }
  const message = parsed.data;
  try {
    await relayPull(deps, message);
    return { kind: 'done' };
  } catch (thrown) {
    const error = toRelayError(thrown);
    const log = deps.log.child({ pullId: message.pullId, image: message.image, attempt: receiveCount });
    if (error.retryable && receiveCount < options.maxAttempts) {
      const base = options.retryBaseDelaySeconds ?? RETRY_BASE_DELAY_SECONDS;
      const backoff = Math.min(RETRY_MAX_DELAY_SECONDS, base * 2 ** (receiveCount - 1));
      const delaySeconds = Math.max(backoff, Math.ceil((error.retryAfterMs ?? 0) / 1000));
      log.warn('pull attempt failed; will retry', { code: error.code, delaySeconds, ...errorFields(thrown) });
      await deps.records.update(message.pullId, { state: 'queued', error: { code: error.code, message: error.message } }).catch(() => undefined);
      return { kind: 'retry', delaySeconds, error };
    }
    // What the image or its request got wrong (a missing tag, no such platform: a 4xx outcome) is
    // the requester's to fix and an operator's warning at most; the relay's own failures are errors.
    const level = error.status < 500 ? 'warn' : 'error';
    log[level]('pull failed', { code: error.code, ...errorFields(thrown) });
    const message_ = error.code === 'INTERNAL' ? 'internal error while relaying; see the relay log' : error.message;
    await deps.records.update(message.pullId, { state: 'failed', error: { code: error.code, message: message_ } });
    return { kind: 'failed', error };
  }
}
