import { RelayError, isRelayError, type ErrorCode } from '../errors.ts';

/** What the SDK's service exceptions carry that we read; nothing else of them is trusted. */
interface AwsFault {
  name?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

/** HTTP status of an SDK error, when the service answered at all. */
export function awsStatus(err: unknown): number | undefined {
  return (err as AwsFault | null)?.$metadata?.httpStatusCode;
}

/**
 * True when S3 says the key is absent (NoSuchKey, or a bodiless 404 to HEAD). A missing bucket is
 * also a 404 (NoSuchBucket) but means misconfiguration: it must fail loudly, never read as "no
 * record" (the worker would drop the message as if its pull never existed).
 */
export function isAwsNotFound(err: unknown): boolean {
  const name = (err as AwsFault | null)?.name;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || awsStatus(err) === 404;
}

/**
 * An SDK fault as a RelayError, translated once here. The SDK has already retried throttling and
 * 5xx with its own backoff; what is left is retryable at the queue level only when it was a server
 * fault, throttling or no answer at all (network). 4xx such as AccessDenied or NoSuchBucket are
 * configuration errors that another delivery will not fix.
 */
export function awsError(code: Extract<ErrorCode, 'STORE_UNAVAILABLE' | 'QUEUE_UNAVAILABLE'>, action: string, err: unknown): RelayError {
  if (isRelayError(err)) return err;
  const status = awsStatus(err);
  const name = (err as AwsFault | null)?.name ?? 'Error';
  const throttled = status === 429 || status === 503 || /throttl|slowdown/i.test(name);
  const retryable = status === undefined || status >= 500 || throttled;
  return new RelayError(code, `${action} failed: ${name}${status === undefined ? '' : ` (HTTP ${status})`}`, { cause: err, retryable, details: { action } });
}
