import { Transform, type TransformCallback } from 'node:stream';
import { createDigester, parseDigest, type Digest, type DigestAlgorithm } from './digest.ts';

/**
 * A pass-through that counts and hashes what flows, for bytes whose digest is not known in advance
 * (files unpacked from a layer): `digest()` names them once the stream has ended. Bytes that must
 * match a digest given in advance go through verify-digest.ts instead.
 */
export class DigestingStream extends Transform {
  readonly algorithm: DigestAlgorithm;
  #hash;
  #bytes = 0;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.algorithm = algorithm;
    this.#hash = createDigester(algorithm);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The digest of every byte that passed; call it once, after the stream ended. */
  digest(): Digest {
    return parseDigest(`${this.algorithm}:${this.#hash.digest('hex')}`);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    callback(null, chunk);
  }
}
