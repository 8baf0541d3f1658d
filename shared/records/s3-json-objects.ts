import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { RelayError } from '../errors.ts';
import { awsError, awsStatus, isAwsNotFound } from '../aws/aws-error.ts';

/** A JSON document and the ETag it was read with (the precondition of the next write). */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Writers racing on one record are few (the api and one worker); 8 rounds of jittered backoff clear any real contention. */
export const MAX_WRITE_ATTEMPTS = 8;
/** First backoff between conflicting writes, doubling each round; S3 answers in tens of ms. */
const CONFLICT_BACKOFF_MS = 20;
/** Records are small; a bigger one means something wrote garbage, so refuse instead of buffering it. */
const MAX_DOCUMENT_BYTES = 1024 * 1024;

/** The outcome of a conditional write: written, or someone else wrote first (HTTP 412/409). */
export type WriteResult = { written: true; etag: string } | { written: false };

/**
 * JSON documents in S3 with optimistic concurrency: every write carries a precondition —
 * `If-None-Match: *` to create, `If-Match: <etag>` to replace what was read — and S3 answers
 * 412 Precondition Failed (or 409 ConditionalRequestConflict while a racing write is in flight)
 * when another writer got there first (S3 conditional writes, 2024). `mutate` re-reads and retries,
 * so no writer's update is lost.
 */
export class S3JsonObjects {
  #client: S3Client;
  #bucket: string;
  #sleep: (ms: number) => Promise<void>;

  constructor(client: S3Client, bucket: string, sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms))) {
    this.#client = client;
    this.#bucket = bucket;
    this.#sleep = sleep;
  }

  /** The document at `key` with its ETag, or undefined when there is none. */
  async read<T>(key: string): Promise<Versioned<T> | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }));
      if ((out.ContentLength ?? 0) > MAX_DOCUMENT_BYTES) throw new RelayError('INTERNAL', `record ${key} is larger than ${MAX_DOCUMENT_BYTES} bytes`);
      const text = (await out.Body?.transformToString('utf-8')) ?? '';
      return { value: JSON.parse(text) as T, etag: out.ETag ?? '' };
    } catch (err) {
      if (isAwsNotFound(err)) return undefined;
      throw awsError('STORE_UNAVAILABLE', `S3 GetObject ${key}`, err);
    }
  }

  /** Writes `value` only if the key is absent (`etag` undefined) or still has `etag`. */
  async write(key: string, value: unknown, etag: string | undefined): Promise<WriteResult> {
    try {
      const out = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(value),
          ContentType: 'application/json',
          ...(etag === undefined ? { IfNoneMatch: '*' } : { IfMatch: etag }),
        }),
      );
      return { written: true, etag: out.ETag ?? '' };
    } catch (err) {
      const status = awsStatus(err);
      if (status === 412 || status === 409) return { written: false };
      throw awsError('STORE_UNAVAILABLE', `S3 PutObject ${key}`, err);
    }
  }

  /**
   * Read-modify-write until it sticks: `change` gets the current document (undefined when absent)
   * and returns the next one, or undefined to write nothing. It may run several times, so it must
   * be a pure function of its input. Resolves with what was written (or the unchanged current).
   */
  async mutate<T>(key: string, change: (current: T | undefined) => T | undefined): Promise<T | undefined> {
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.read<T>(key);
      const next = change(current?.value);
      if (next === undefined) return current?.value;
      const result = await this.write(key, next, current?.etag);
      if (result.written) return next;
      await this.#sleep(Math.random() * CONFLICT_BACKOFF_MS * 2 ** (attempt - 1));
    }
    throw new RelayError('STORE_UNAVAILABLE', `record ${key} kept changing under ${MAX_WRITE_ATTEMPTS} attempts to update it`, { details: { key } });
  }
}
