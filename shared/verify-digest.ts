import { Transform, type TransformCallback } from 'node:stream';
import { createDigester, splitDigest, type Digest } from './digest.ts';
import { RelayError } from './errors.ts';

/**
 * A pass-through that hashes and counts every byte and ends with an error instead of a clean end
 * when the bytes are not the ones the digest names (go-containerregistry's internal/verify).
 * It fails as soon as more than `size` bytes arrive, so an endless body cannot fill a disk.
 * Nobody downstream of it can forget the check: a mismatch never reaches 'end'.
 */
export class VerifyDigestStream extends Transform {
  readonly digest: Digest;
  readonly size: number;
  #hash;
  #bytes = 0;

  constructor(digest: Digest, size: number) {
    super();
    this.digest = digest;
    this.size = size;
    this.#hash = createDigester(splitDigest(digest).algorithm);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.size) {
      callback(sizeMismatch(this.digest, this.size, `more than ${this.size} bytes`));
      return;
    }
    this.#hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.#bytes !== this.size) {
      callback(sizeMismatch(this.digest, this.size, `${this.#bytes} bytes`));
      return;
    }
    const actual = `${splitDigest(this.digest).algorithm}:${this.#hash.digest('hex')}`;
    if (actual !== this.digest) {
      callback(
        new RelayError('DIGEST_MISMATCH', `content of ${this.digest} hashes to ${actual}; it was not stored`, {
          details: { digest: this.digest, actual },
        }),
      );
      return;
    }
    callback();
  }
}

/** A verifying pass-through for `digest` of exactly `size` bytes. */
export function verifyDigest(digest: Digest, size: number): VerifyDigestStream {
  return new VerifyDigestStream(digest, size);
}

function sizeMismatch(digest: Digest, size: number, got: string): RelayError {
  return new RelayError('SIZE_MISMATCH', `${digest} should be ${size} bytes, got ${got}; it was not stored`, {
    details: { digest, size },
  });
}
