import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { awsError } from '../aws/aws-error.ts';
import { RelayError } from '../errors.ts';
import type { PolledJobQueue, ReceivedJob } from '../job-queue.ts';
import { PullMessageSchema, type PullMessage } from '../queue-message.ts';
import { MAX_RELEASE_DELAY_SECONDS } from './sqlite-job-queue.ts';

/** SQS hands out at most 10 messages per ReceiveMessage. */
export const SQS_MAX_BATCH = 10;

/** Options for {@link SqsJobQueue}. */
export interface SqsJobQueueOptions {
  client: SQSClient;
  queueUrl: string;
  /** Long-poll wait for pollers (seconds, 0..20): fewer empty receives, which SQS bills. */
  waitTimeSeconds?: number;
}

/**
 * The job queue on SQS. The api only sends; in Lambda the event source mapping receives for the
 * worker (sqs-batch-handler.ts). receive/delete/release exist for pollers outside Lambda and for
 * tests, with the same semantics as SqliteJobQueue: receipts are SQS receipt handles.
 */
export class SqsJobQueue implements PolledJobQueue {
  readonly queueUrl: string;
  #client: SQSClient;
  #waitTimeSeconds: number;

  constructor(options: SqsJobQueueOptions) {
    this.#client = options.client;
    this.queueUrl = options.queueUrl;
    this.#waitTimeSeconds = options.waitTimeSeconds ?? 0;
  }

  /** Validates with the shared schema, so a malformed job never reaches the queue. */
  async send(message: PullMessage): Promise<void> {
    const parsed = PullMessageSchema.safeParse(message);
    if (!parsed.success) throw new RelayError('INVALID_REQUEST', 'queue message does not match PullMessageSchema', { cause: parsed.error });
    try {
      await this.#client.send(new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(parsed.data) }));
    } catch (err) {
      throw awsError('QUEUE_UNAVAILABLE', 'SQS SendMessage', err);
    }
  }

  /** Up to `max` (≤ 10) messages with their receive counts. */
  async receive(max: number): Promise<ReceivedJob[]> {
    if (!Number.isInteger(max) || max < 1) throw new RelayError('INVALID_REQUEST', 'receive needs a positive count');
    try {
      const out = await this.#client.send(
        new ReceiveMessageCommand({
          QueueUrl: this.queueUrl,
          MaxNumberOfMessages: Math.min(max, SQS_MAX_BATCH),
          WaitTimeSeconds: this.#waitTimeSeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }),
      );
      return (out.Messages ?? []).map((message) => ({
        body: parseBody(message.Body ?? ''),
        receipt: message.ReceiptHandle ?? '',
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
      }));
    } catch (err) {
      throw awsError('QUEUE_UNAVAILABLE', 'SQS ReceiveMessage', err);
    }
  }

  /** Deletes the message (a stale receipt handle is ignored by SQS once the message was deleted). */
  async delete(receipt: string): Promise<void> {
    try {
      await this.#client.send(new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt }));
    } catch (err) {
      throw awsError('QUEUE_UNAVAILABLE', 'SQS DeleteMessage', err);
    }
  }

  /** Makes the message visible again after `delaySeconds` (ChangeMessageVisibility). */
  async release(receipt: string, delaySeconds: number): Promise<void> {
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0 || delaySeconds > MAX_RELEASE_DELAY_SECONDS) {
      throw new RelayError('INVALID_REQUEST', `release delay must be 0..${MAX_RELEASE_DELAY_SECONDS} seconds`);
    }
    try {
      await this.#client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receipt, VisibilityTimeout: Math.round(delaySeconds) }));
    } catch (err) {
      throw awsError('QUEUE_UNAVAILABLE', 'SQS ChangeMessageVisibility', err);
    }
  }
}

/** The body as JSON when it is JSON; otherwise the raw text, which the worker's schema check drops. */
export function parseBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
