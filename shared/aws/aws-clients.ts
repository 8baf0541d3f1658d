import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';

/** Static credentials; absent, the SDK's default provider chain finds them (Lambda's role). */
export interface StaticCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where and how to reach S3 (or an S3-compatible store). */
export interface S3ClientSettings {
  region: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  credentials?: StaticCredentials;
}

/** Credentials from an environment map (Lambda puts its role's session there); undefined otherwise. */
export function credentialsFromEnv(env: Record<string, string | undefined>): StaticCredentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * An S3 client. With a custom endpoint (MinIO, Ceph RGW, fauxqs) the SDK's default request
 * checksums (CRC32 on every upload since SDK 3.729) are only sent when an operation requires them:
 * several S3-compatible stores reject the trailing-checksum encoding.
 */
export function createS3Client(settings: S3ClientSettings): S3Client {
  return new S3Client({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
    forcePathStyle: settings.forcePathStyle ?? false,
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
  });
}

/**
 * An SQS client for `queueUrl`. A queue URL outside amazonaws.com (an SQS-compatible server, or
 * fauxqs in tests) is its own endpoint: the SDK would reach it anyway (useQueueUrlAsEndpoint) but
 * warns on every call unless the endpoint is set.
 */
export function createSqsClient(region: string, queueUrl: string, credentials?: StaticCredentials): SQSClient {
  const url = new URL(queueUrl);
  const aws = /(^|\.)amazonaws\.com(\.cn)?$/.test(url.hostname);
  return new SQSClient({ region, ...(aws ? {} : { endpoint: url.origin }), ...(credentials === undefined ? {} : { credentials }) });
}

/** An SSM client for reading the Harbor credentials parameter. */
export function createSsmClient(region: string, credentials?: StaticCredentials): SSMClient {
  return new SSMClient({ region, ...(credentials === undefined ? {} : { credentials }) });
}
