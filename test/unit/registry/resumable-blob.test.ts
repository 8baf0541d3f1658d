import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RelayError } from '../../../shared/errors.ts';
import { MAX_RESUMES, resumableBlob, type ResumableBlobOptions } from '../../../shared/registry/resumable-blob.ts';

const reset = () => Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
const mapError = (err: unknown) =>
  err instanceof RelayError ? err : new RelayError('REGISTRY_UNAVAILABLE', `transport: ${(err as Error).message}`, { cause: err });

/** A body that yields `bytes` in `chunk`-sized pieces, then fails with `failWith` (or ends). */
function body(bytes: Buffer, chunk: number, failWith?: () => Error): Readable {
  return Readable.from(
    (async function* () {
      for (let at = 0; at < bytes.length; at += chunk) yield bytes.subarray(at, at + chunk);
      if (failWith) throw failWith();
    })(),
    { objectMode: false },
  );
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function options(overrides: Partial<ResumableBlobOptions> & Pick<ResumableBlobOptions, 'size' | 'first'>): ResumableBlobOptions {
  return { what: 'sha256:test', mapError, reopen: () => Promise.reject(new Error('unexpected reopen')), ...overrides };
}

describe('resumableBlob', () => {
  it('F1: resumes from the byte where the body broke, and the bytes come out once, in order', async () => {
    const data = randomBytes(10_000);
    const offsets: number[] = [];
    const out = await collect(
      resumableBlob(
        options({
          size: data.length,
          first: body(data.subarray(0, 3000), 1000, reset),
          reopen: async (offset) => {
            offsets.push(offset);
            return offset === 3000 ? body(data.subarray(3000, 7000), 999, reset) : body(data.subarray(offset), 4096);
          },
        }),
      ),
    );
    expect(offsets).toEqual([3000, 7000]);
    expect(out.equals(data)).toBe(true);
  });

  it('F3: a clean end short of size is resumed like a reset', async () => {
    const data = randomBytes(5000);
    const offsets: number[] = [];
    const out = await collect(
      resumableBlob(options({ size: data.length, first: body(data.subarray(0, 1234), 500), reopen: async (offset) => (offsets.push(offset), body(data.subarray(offset), 500)) })),
    );
    expect(offsets).toEqual([1234]);
    expect(out.equals(data)).toBe(true);
  });

  it('F1: needs progress between resumes: a body that breaks before its first byte twice in a row ends it', async () => {
    let reopened = 0;
    const stream = resumableBlob(options({ size: 100, first: body(Buffer.alloc(0), 1, reset), reopen: async () => (reopened++, body(Buffer.alloc(0), 1, reset)) }));
    await expect(collect(stream)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
    expect(reopened).toBe(1);
  });

  it(`F1: gives up after ${MAX_RESUMES} resumes even with progress`, async () => {
    const data = randomBytes(100_000);
    let reopened = 0;
    const stream = resumableBlob(
      options({ size: data.length, first: body(data.subarray(0, 10), 10, reset), reopen: async (offset) => (reopened++, body(data.subarray(offset, offset + 10), 10, reset)) }),
    );
    await expect(collect(stream)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(reopened).toBe(MAX_RESUMES);
  });

  it('does not resume faults that are not transient, and passes reopen refusals through', async () => {
    const data = randomBytes(100);
    const internal = resumableBlob(options({ size: 100, first: body(data.subarray(0, 50), 10, () => new RelayError('INTERNAL', 'bug')) }));
    await expect(collect(internal)).rejects.toMatchObject({ code: 'INTERNAL' });
    const refusal = new RelayError('REGISTRY_ERROR', 'Range ignored', { retryable: true });
    const refused = resumableBlob(options({ size: 100, first: body(data.subarray(0, 50), 10, reset), reopen: () => Promise.reject(refusal) }));
    await expect(collect(refused)).rejects.toBe(refusal);
  });

  it('E3: stops with SIZE_MISMATCH as soon as more than size bytes arrive, never passing them on', async () => {
    const data = randomBytes(1000);
    const stream = resumableBlob(options({ size: 900, first: body(data, 300) }));
    let passed = 0;
    stream.on('data', (chunk: Buffer) => (passed += chunk.length));
    await expect(new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject))).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    expect(passed).toBe(900);
  });

  it('K2: holds about one chunk plus its highWaterMark, however large the blob, when the consumer is slow', async () => {
    const CHUNK = 64 * 1024;
    const SIZE = 64 * 1024 * 1024;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = Readable.from(
      (async function* () {
        while (produced < SIZE) {
          produced += CHUNK;
          yield Buffer.alloc(CHUNK);
        }
      })(),
      { objectMode: false, highWaterMark: CHUNK },
    );
    const stream = resumableBlob(options({ size: SIZE, first: source }));
    let writes = 0;
    await pipeline(
      stream,
      new Writable({
        highWaterMark: CHUNK,
        write(chunk: Buffer, _encoding, done) {
          consumed += chunk.length;
          maxAhead = Math.max(maxAhead, produced - consumed);
          // Slow for the first part, then fast, so the test stays quick while back-pressure is exercised.
          if (++writes < 64) void delay(1).then(() => done());
          else done();
        },
      }),
    );
    expect(consumed).toBe(SIZE);
    // Source buffer + blob stream buffer + writable buffer, each about one chunk: never the blob.
    expect(maxAhead).toBeLessThanOrEqual(6 * CHUNK);
  });
});
