import { Readable } from 'node:stream';

/** A source that yields `bytes` in `chunkBytes` pieces, then fails with `failAfter` if given. */
export function chunked(bytes: Buffer, chunkBytes: number, failAfter?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += chunkBytes) yield bytes.subarray(i, i + chunkBytes);
      if (failAfter) throw failAfter;
    })(),
  );
}

/** A source that must not be read: a store that already holds the object should only destroy it. */
export function untouchable(): Readable & { wasRead: () => boolean } {
  let read = false;
  const source = new Readable({
    read() {
      read = true;
      this.destroy(new Error('read when it should not have been'));
    },
  });
  return Object.assign(source, { wasRead: () => read });
}
