import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** Generated in 1 MiB pieces: large enough that generation is not the bottleneck, small enough to stay flat. */
const CHUNK_BYTES = 1024 * 1024;

/**
 * `size` incompressible bytes that depend only on `seed`: the AES-128-CTR keystream of a key derived
 * from the seed (AES-NI makes it ~1 GiB/s, faster than any copy it feeds). Same seed, same bytes, so a
 * cached layer can be regenerated identically; a fresh seed gives a blob no store has seen.
 */
export function createRandomStream(size: number, seed: string): Readable {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(CHUNK_BYTES);
  let left = size;
  return new Readable({
    highWaterMark: CHUNK_BYTES,
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, CHUNK_BYTES);
      left -= n;
      this.push(cipher.update(n === CHUNK_BYTES ? zeros : zeros.subarray(0, n)));
    },
  });
}
