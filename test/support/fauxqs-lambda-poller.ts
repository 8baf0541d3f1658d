import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { WorkerContext } from '../../functions/worker/sqs-batch-handler.ts';

/** One poll of the emulated event source mapping. */
export interface PollResult {
  event: SQSEvent;
  /** The handler's answer; undefined when it threw (the whole batch then stays for a retry). */
  response: SQSBatchResponse | undefined;
  /** Message ids deleted as done. */
  deleted: string[];
}

/** A Lambda context whose deadline is `remainingMs` after the invocation starts. */
export function lambdaContext(remainingMs = 900_000): WorkerContext {
  const deadline = Date.now() + remainingMs;
  return { awsRequestId: `test-${Math.random().toString(16).slice(2)}`, getRemainingTimeInMillis: () => deadline - Date.now() };
}

/**
 * Does what Lambda's SQS event source mapping does for a function with ReportBatchItemFailures:
 * receive a batch (with ApproximateReceiveCount), invoke the handler with an SQSEvent, delete every
 * message not listed in batchItemFailures, and leave the listed ones (or all, if the handler threw)
 * to come back after their visibility timeout. fauxqs does the rest (receive counts, DLQ redrive).
 */
export async function pollOnce(
  sqs: SQSClient,
  queueUrl: string,
  handler: (event: SQSEvent, context: WorkerContext) => Promise<SQSBatchResponse>,
  options: { batchSize?: number; remainingMs?: number } = {},
): Promise<PollResult | undefined> {
  const received = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: options.batchSize ?? 10, MessageSystemAttributeNames: ['All'], WaitTimeSeconds: 0 }),
  );
  const messages = received.Messages ?? [];
  if (messages.length === 0) return undefined;
  const records: SQSRecord[] = messages.map((message) => ({
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
      SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
      SenderId: 'test',
      ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test',
    awsRegion: 'us-east-1',
  }));
  const event: SQSEvent = { Records: records };
  let response: SQSBatchResponse | undefined;
  try {
    response = await handler(event, lambdaContext(options.remainingMs));
  } catch {
    return { event, response: undefined, deleted: [] };
  }
  const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
  const done = records.filter((record) => !failed.has(record.messageId));
  if (done.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((record, i) => ({ Id: String(i), ReceiptHandle: record.receiptHandle })) }));
  }
  return { event, response, deleted: done.map((record) => record.messageId) };
}
