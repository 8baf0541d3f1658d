import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chunksOf } from '../../shared/chunks-of.ts';

/** A body like undici's: destroying it before its end reports an abort as an 'error' event. */
function abortingBody(chunks: Buffer[]): Readable {
  return new Readable({
    read() {
      this.push(chunks.shift() ?? null);
    },
    destroy(error, callback) {
      callback(error ?? (this.readableEnded ? null : Object.assign(new Error('Request aborted'), { code: 'UND_ERR_ABORTED' })));
    },
  });
}

describe('chunksOf', () => {
  it('yields every chunk as it arrived, without concatenating', async () => {
    const parts = [Buffer.from('ab'), Buffer.from('cd'), Buffer.from('ef')];
    const seen: Buffer[] = [];
    for await (const chunk of chunksOf(Readable.from(parts.map((p) => Buffer.from(p)), { objectMode: false }))) seen.push(chunk);
    expect(Buffer.concat(seen).toString()).toBe('abcdef');
    expect(seen.length).toBe(3);
  });

  it('a consumer that stops early destroys the body, and the abort it causes is not an uncaught error', async () => {
    const body = abortingBody([Buffer.from('one'), Buffer.from('two'), Buffer.from('three')]);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.prependListener('uncaughtException', onUncaught);
    try {
      for await (const chunk of chunksOf(body)) {
        expect(chunk.toString()).toBe('one');
        break;
      }
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(body.destroyed).toBe(true);
    expect(uncaught).toEqual([]);
  });

  it('a body cut before its end fails with premature close', async () => {
    const body = new Readable({ read() {} });
    body.push(Buffer.from('partial'));
    setImmediate(() => body.destroy());
    const run = async () => {
      for await (const _ of chunksOf(body)) void _;
    };
    await expect(run()).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
  });
});
