import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { startConditionalProxy, type ConditionalProxy } from './fauxqs-conditional-proxy.ts';

/** Region of every test resource; fauxqs keys queues by region. */
export const TEST_REGION = 'us-east-1';

/** fauxqs (S3 + SQS over HTTP) with one bucket, a job queue and its dead-letter queue. */
export interface TestAws {
  fauxqs: FauxqsServer;
  /** S3 endpoint to use: the conditional-write proxy in front of fauxqs. */
  s3Endpoint: string;
  proxy: ConditionalProxy;
  bucket: string;
  queueUrl: string;
  queueName: string;
  dlqName: string;
  s3: S3Client;
  sqs: SQSClient;
  /** Multipart uploads started and neither completed nor aborted (fauxqs lacks ListMultipartUploads). */
  incompleteUploads(): string[];
  /** The environment the AWS functions would get in Lambda, pointed at this fauxqs. */
  env(extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** Options for {@link startTestAws}. */
export interface TestAwsOptions {
  /** The queue's maxReceiveCount before SQS moves a message to the DLQ. */
  maxReceiveCount?: number;
  /** Seconds a received message stays hidden. */
  visibilityTimeout?: number;
}

/**
 * Starts fauxqs in-memory for SQS (its SQLite mode loses messages on ChangeMessageVisibility 0,
 * design.md §7) with S3 objects in a temp directory: fauxqs answers ListMultipartUploads with a
 * ListObjects result (always empty), so incomplete uploads are observed where fauxqs keeps them,
 * `<dir>/_multipart/<uploadId>/` (its documented file layout), which AbortMultipartUpload and
 * CompleteMultipartUpload remove.
 */
export async function startTestAws(options: TestAwsOptions = {}): Promise<TestAws> {
  const s3Dir = mkdtempSync(join(tmpdir(), 'fauxqs-s3-'));
  const fauxqs = await startFauxqs({ port: 0, logger: false, s3StorageDir: s3Dir } as Parameters<typeof startFauxqs>[0]);
  const proxy = await startConditionalProxy(fauxqs.address);
  const bucket = 'relay-test';
  fauxqs.createBucket(bucket);
  const dlqName = 'relay-jobs-dlq';
  const queueName = 'relay-jobs';
  const dlq = fauxqs.createQueue(dlqName);
  fauxqs.createQueue(queueName, {
    attributes: {
      VisibilityTimeout: String(options.visibilityTimeout ?? 30),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: options.maxReceiveCount ?? 3 }),
    },
  });
  // The queue URL names fauxqs itself: SQS-compatible servers are reached through their queue URL.
  const queueUrl = `${fauxqs.address}/000000000000/${queueName}`;
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const s3 = new S3Client({ region: TEST_REGION, endpoint: proxy.url, forcePathStyle: true, credentials, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  const sqs = new SQSClient({ region: TEST_REGION, endpoint: fauxqs.address, credentials });
  return {
    fauxqs,
    s3Endpoint: proxy.url,
    proxy,
    bucket,
    queueUrl,
    queueName,
    dlqName,
    s3,
    sqs,
    incompleteUploads: () => {
      try {
        return readdirSync(join(s3Dir, '_multipart'));
      } catch {
        return [];
      }
    },
    env: (extra = {}) => ({
      RELAY_STORE: `s3://${bucket}`,
      RELAY_QUEUE: queueUrl,
      S3_ENDPOINT: proxy.url,
      S3_FORCE_PATH_STYLE: 'true',
      AWS_REGION: TEST_REGION,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      LOG_LEVEL: 'debug',
      ...extra,
    }),
    stop: async () => {
      s3.destroy();
      sqs.destroy();
      await proxy.stop();
      await fauxqs.stop();
      rmSync(s3Dir, { recursive: true, force: true });
    },
  };
}
