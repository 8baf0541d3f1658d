import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorFields, type Logger } from '../../shared/log.ts';

/**
 * A worker that could not start (SSM throttled by a burst of cold starts) tries again this soon,
 * plus up to as much again at random so the retries of one burst do not arrive together. Without
 * it the batch would come back only after the queue's visibility timeout (5400 s).
 */
export const COLD_START_RETRY_SECONDS = 15;

/**
 * Hands every message of `event` back to the queue with a short, jittered delay and reports them
 * all as batch item failures, so Lambda deletes none and SQS counts the delivery (a worker that
 * never starts still ends in the dead-letter queue after maxReceiveCount deliveries).
 */
export async function releaseBatch(event: SQSEvent, release: (receipt: string, delaySeconds: number) => Promise<void>, log: Logger, cause: unknown): Promise<SQSBatchResponse> {
  log.error('worker could not start; the batch goes back to the queue', { messages: event.Records.length, ...errorFields(cause) });
  await Promise.all(
    event.Records.map((record) =>
      release(record.receiptHandle, COLD_START_RETRY_SECONDS + Math.floor(Math.random() * COLD_START_RETRY_SECONDS)).catch((err: unknown) =>
        log.warn('could not set the retry delay', { messageId: record.messageId, ...errorFields(err) }),
      ),
    ),
  );
  return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
}
