import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { errorFields } from '../../shared/log.ts';
import { parseBody } from '../../shared/queue/sqs-job-queue.ts';
import { RETRY_BASE_DELAY_SECONDS, RETRY_MAX_DELAY_SECONDS, handleJob } from './handle-job.ts';
import type { RelayPullDeps } from './relay-pull.ts';
import { DEADLINE_MARGIN_MS, deadlineSignal, withDeadline } from './sqs-deadline.ts';

/** The parts of the Lambda context the worker reads. */
export interface WorkerContext {
  awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

/** What the SQS worker needs; wired by handler.ts (Lambda) or tests. */
export interface SqsWorkerDeps {
  relay: RelayPullDeps;
  /** Equal to the queue's maxReceiveCount: the last delivery's retryable failure is final. */
  maxAttempts: number;
  /** Messages of one batch worked on at once. */
  concurrency: number;
  deadlineMarginMs?: number;
  retryBaseDelaySeconds?: number;
  /**
   * Gives a retried message its backoff (SQS ChangeMessageVisibility); without it the message comes
   * back only after the queue's visibility timeout (6× the function timeout).
   */
  delayRetry?: (receiptHandle: string, delaySeconds: number) => Promise<void>;
}

/**
 * The SQS worker (Lambda event source mapping with ReportBatchItemFailures). Each message's fate is
 * decided by handleJob: `retry` → reported as a batch item failure (SQS delivers it again, after
 * the backoff), `done` / `failed` / `dropped` → success (deleted). A message whose handling itself
 * throws (the record store is down) is reported too; when its deliveries run out SQS moves it to the
 * dead-letter queue, whose consumer marks the pull failed (sqs-dead-letter-handler.ts).
 */
export function createSqsBatchHandler(deps: SqsWorkerDeps): (event: SQSEvent, context: WorkerContext) => Promise<SQSBatchResponse> {
  return async (event, context) => {
    const deadline = deadlineSignal(context.getRemainingTimeInMillis(), deps.deadlineMarginMs ?? DEADLINE_MARGIN_MS);
    const relay = withDeadline(deps.relay, deadline.signal);
    const failures: SQSBatchItemFailure[] = [];
    try {
      await forEachLimited(event.Records, deps.concurrency, async (record) => {
        if (!(await handleRecord(deps, relay, record, context))) failures.push({ itemIdentifier: record.messageId });
      });
    } finally {
      deadline.dispose();
    }
    return { batchItemFailures: failures };
  };
}

/** True when the message is finished with (delete it), false to have it delivered again. */
async function handleRecord(deps: SqsWorkerDeps, relay: RelayPullDeps, record: SQSRecord, context: WorkerContext): Promise<boolean> {
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const log = relay.log.child({ messageId: record.messageId, awsRequestId: context.awsRequestId });
  try {
    const outcome = await handleJob({ ...relay, log }, parseBody(record.body), receiveCount, {
      maxAttempts: deps.maxAttempts,
      ...(deps.retryBaseDelaySeconds === undefined ? {} : { retryBaseDelaySeconds: deps.retryBaseDelaySeconds }),
    });
    if (outcome.kind !== 'retry') return true;
    if (deps.delayRetry) {
      await deps.delayRetry(record.receiptHandle, outcome.delaySeconds).catch((err: unknown) => log.warn('could not set the retry delay', errorFields(err)));
    }
    return false;
  } catch (err) {
    // Nothing was recorded (the record store failed): try again after a backoff rather than after
    // the queue's long visibility timeout; when deliveries run out, SQS dead-letters the message.
    const delaySeconds = Math.min(RETRY_MAX_DELAY_SECONDS, (deps.retryBaseDelaySeconds ?? RETRY_BASE_DELAY_SECONDS) * 2 ** (receiveCount - 1));
    log.error('message handling failed; it goes back to the queue', { receiveCount, delaySeconds, ...errorFields(err) });
    if (deps.delayRetry) await deps.delayRetry(record.receiptHandle, delaySeconds).catch(() => undefined);
    return false;
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}
