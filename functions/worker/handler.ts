import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsRelay, type AwsRelay } from '../../shared/aws/aws-relay.ts';
import { createSqsBatchHandler, type WorkerContext } from './sqs-batch-handler.ts';
import { createDeadLetterHandler } from './sqs-dead-letter-handler.ts';
import { releaseBatch } from './sqs-release-batch.ts';

let relay: AwsRelay | undefined;
let worker: Promise<(event: SQSEvent, context: WorkerContext) => Promise<SQSBatchResponse>> | undefined;

/** Built on the first invocation: the Harbor credentials are read from SSM once per container. */
async function buildWorker(aws: AwsRelay): Promise<(event: SQSEvent, context: WorkerContext) => Promise<SQSBatchResponse>> {
  const registry = await aws.registry();
  return createSqsBatchHandler({
    relay: { registry, store: aws.store, records: aws.records, copies: aws.copies, leases: aws.leases, log: aws.log, limits: aws.config.limits },
    maxAttempts: aws.config.maxAttempts,
    concurrency: aws.config.workerConcurrency,
    delayRetry: (receipt, delaySeconds) => aws.queue.release(receipt, delaySeconds),
  });
}

/** Lambda entry of the worker: SQS batches, partial batch failures (ReportBatchItemFailures). */
export async function handler(event: SQSEvent, context: WorkerContext): Promise<SQSBatchResponse> {
  const aws = (relay ??= createAwsRelay(process.env));
  worker ??= buildWorker(aws).catch((err: unknown) => {
    worker = undefined; // an SSM hiccup must not poison the container
    throw err;
  });
  let run: (event: SQSEvent, context: WorkerContext) => Promise<SQSBatchResponse>;
  try {
    run = await worker;
  } catch (err) {
    // Thrown, the whole batch would wait out the queue's 90-minute visibility timeout.
    return releaseBatch(event, (receipt, delaySeconds) => aws.queue.release(receipt, delaySeconds), aws.log, err);
  }
  return run(event, context);
}

/** Lambda entry of the dead-letter consumer: marks pulls whose message was dead-lettered failed. */
export async function deadLetterHandler(event: SQSEvent): Promise<SQSBatchResponse> {
  relay ??= createAwsRelay(process.env);
  return createDeadLetterHandler({ records: relay.records, log: relay.log })(event);
}
