import { Readable } from 'node:stream';
import { chunksOf } from '../chunks-of.ts';
import { isRelayError, RelayError } from '../errors.ts';

/**
 * A blob body that survives a broken connection (field case F1): when the body fails mid-way
 * (reset, timeout) or ends cleanly before `size` bytes (a truncating proxy, F3), it asks `reopen`
 * for the rest from the byte where it stopped (`Range: bytes=N-`) and carries on. Consumers see one
 * continuous byte sequence, so the digest verifier downstream keeps its running hash: nothing is
 * hashed twice and nothing is appended twice. Reading stops past `size` (E3).
 *
 * It is a plain pull stream over one upstream body at a time: back-pressure reaches the socket,
 * and at most one chunk plus the stream's highWaterMark is held (K2).
 */

/** Resumes allowed per download; each needs progress since the previous one, so this bounds a flaky multi-GiB copy. */
export const MAX_RESUMES = 10;

/** What {@link resumableBlob} needs. */
export interface ResumableBlobOptions {
  /** Exact length of the blob (the descriptor's size). */
  readonly size: number;
  /** The first answer's body, from byte 0. */
  readonly first: AsyncIterable<Uint8Array> & { destroy?: (err?: Error) => void };
  /** A body for bytes `offset`..end, validated (206 with the right Content-Range); throws RelayError when impossible. */
  reopen(offset: number): Promise<AsyncIterable<Uint8Array>>;
  /** Turns a transport error of a body into a RelayError (retryable for resets and timeouts). */
  mapError(err: unknown): RelayError;
  /** Overrides {@link MAX_RESUMES}. */
  readonly maxResumes?: number | undefined;
  /** Told about each resume (for logs and tests): offset and the error that caused it. */
  readonly onResume?: ((offset: number, cause: RelayError) => void) | undefined;
  /** For error messages: the blob's digest. */
  readonly what: string;
}

/** A readable of exactly `size` bytes that resumes with ranges on transient body failures. */
export function resumableBlob(options: ResumableBlobOptions): Readable {
  return Readable.from(resumableChunks(options), { objectMode: false });
}

async function* resumableChunks(options: ResumableBlobOptions): AsyncGenerator<Uint8Array> {
  const { size, what } = options;
  const maxResumes = options.maxResumes ?? MAX_RESUMES;
  let body: AsyncIterable<Uint8Array> = options.first;
  let offset = 0;
  let resumes = 0;
  for (;;) {
    const openedAt = offset;
    let failure: RelayError;
    try {
      for await (const chunk of chunksOf(body)) {
        if (chunk.length > size - offset) {
          // E3: never pass more than the descriptor's size; the rest is not read.
          throw new RelayError('SIZE_MISMATCH', `${what} should be ${size} bytes, the server sent more`, { details: { size } });
        }
        offset += chunk.length;
        yield chunk;
      }
      if (offset === size) return;
      failure = new RelayError('REGISTRY_UNAVAILABLE', `${what}: the body ended after ${offset} of ${size} bytes`, { details: { size, received: offset } });
    } catch (err) {
      if (isRelayError(err, 'SIZE_MISMATCH')) throw err;
      failure = options.mapError(err);
    }
    // Resume only transient transport faults, only a bounded number of times, and only after
    // progress: a body that breaks before its first byte twice in a row is not going to heal here.
    const progressed = offset > openedAt || resumes === 0;
    if (!failure.retryable || failure.code !== 'REGISTRY_UNAVAILABLE' || resumes >= maxResumes || !progressed) throw failure;
    resumes++;
    options.onResume?.(offset, failure);
    body = await options.reopen(offset);
  }
}
