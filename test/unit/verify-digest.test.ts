import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { digestOf, parseDigest } from '../../shared/digest.ts';
import { verifyDigest } from '../../shared/verify-digest.ts';

async function drain(chunks: Buffer[], digest: string, size: number): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), verifyDigest(parseDigest(digest), size), new Writable({ write: (chunk, _e, cb) => (out.push(chunk), cb()) }));
  return Buffer.concat(out);
}

describe('verifyDigest', () => {
  const bytes = Buffer.from('layer bytes '.repeat(1000));

  it('passes the bytes through when digest and size match (sha256 and sha512, E1)', async () => {
    const halves = [bytes.subarray(0, 5000), bytes.subarray(5000)];
    expect(await drain(halves, digestOf(bytes), bytes.length)).toEqual(bytes);
    expect(await drain(halves, digestOf(bytes, 'sha512'), bytes.length)).toEqual(bytes);
  });

  it('E2: ends with DIGEST_MISMATCH instead of a clean end when one byte differs', async () => {
    const bad = Buffer.from(bytes);
    bad[100] = bad[100]! ^ 0xff;
    await expect(drain([bad], digestOf(bytes), bytes.length)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('E3: fails as soon as more bytes than the size arrive, and on a short body', async () => {
    await expect(drain([bytes, Buffer.from('junk')], digestOf(bytes), bytes.length)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
    await expect(drain([bytes.subarray(0, 10)], digestOf(bytes), bytes.length)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });
});

describe('parseDigest', () => {
  it('E1: refuses unknown algorithms with their own code', () => {
    expect(() => parseDigest(`md5:${'a'.repeat(32)}`)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_DIGEST_ALGORITHM' }));
    expect(() => parseDigest('sha256:XYZ')).toThrow(expect.objectContaining({ code: 'INVALID_DIGEST' }));
    expect(() => parseDigest(`sha256:${'A'.repeat(64)}`)).toThrow(expect.objectContaining({ code: 'INVALID_DIGEST' }));
  });
});
