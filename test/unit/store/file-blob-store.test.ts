import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import { FileBlobStore, STALE_TEMP_AGE_MS } from '../../../shared/store/file-blob-store.ts';
import { SIGNING_SECRET_FILE } from '../../../shared/store/signing-secret.ts';

let root: string;
let store: FileBlobStore;
const BASE = 'http://127.0.0.1:8080';

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'file-blob-store-'));
  store = await FileBlobStore.open({ root, publicBaseUrl: BASE });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A source that yields `bytes` in small chunks, then optionally fails. */
function chunked(bytes: Buffer, failAfter?: Error): Readable {
  return Readable.from(
    (async function* () {
      for (let i = 0; i < bytes.length; i += 1000) yield bytes.subarray(i, i + 1000);
      if (failAfter) throw failAfter;
    })(),
  );
}

/** A source that must not be read. */
function untouchable(): Readable & { wasRead: () => boolean } {
  let read = false;
  const source = new Readable({
    read() {
      read = true;
      this.destroy(new Error('read when it should not have been'));
    },
  });
  return Object.assign(source, { wasRead: () => read });
}

async function tempFiles(): Promise<string[]> {
  return readdir(join(root, 'tmp'));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('FileBlobStore.put', () => {
  it('stores verified bytes under blobs/<alg>/<hex> and stat reports their size', async () => {
    const bytes = randomBytes(150_000);
    const digest = digestOf(bytes);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await store.put('blobs', digest, bytes.length, chunked(bytes))).toEqual({ digest, size: bytes.length });
    const path = join(root, 'blobs', 'sha256', digest.slice('sha256:'.length));
    expect(store.path('blobs', digest)).toBe(path);
    expect((await readFile(path)).equals(bytes)).toBe(true);
    expect(await store.stat('blobs', digest)).toEqual({ digest, size: bytes.length });
    expect(await tempFiles()).toEqual([]);
  });

  it('hashes with the algorithm the digest names (sha512)', async () => {
    const bytes = randomBytes(5000);
    const digest = digestOf(bytes, 'sha512');
    await store.put('files', digest, bytes.length, chunked(bytes));
    expect((await readFile(join(root, 'files', 'sha512', digest.slice('sha512:'.length)))).equals(bytes)).toBe(true);
  });

  it('stores nothing when the bytes do not match the digest', async () => {
    const bytes = randomBytes(10_000);
    const digest = digestOf(randomBytes(10_000));
    const err = await rejection(store.put('blobs', digest, bytes.length, chunked(bytes)));
    expect(isRelayError(err, 'DIGEST_MISMATCH')).toBe(true);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
  });

  it('stores nothing when the body is shorter or longer than the size', async () => {
    const bytes = randomBytes(10_000);
    const digest = digestOf(bytes);
    const short = await rejection(store.put('blobs', digest, bytes.length, chunked(bytes.subarray(0, 9000))));
    expect(isRelayError(short, 'SIZE_MISMATCH')).toBe(true);
    const long = await rejection(store.put('blobs', digest, bytes.length - 1, chunked(bytes)));
    expect(isRelayError(long, 'SIZE_MISMATCH')).toBe(true);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
  });

  it('rejects with the source error and leaves no temp file when the source fails mid-copy', async () => {
    const bytes = randomBytes(50_000);
    const digest = digestOf(bytes);
    const cause = new Error('connection reset');
    const err = await rejection(store.put('blobs', digest, bytes.length + 10, chunked(bytes, cause)));
    expect(err).toBe(cause);
    expect(await store.stat('blobs', digest)).toBeUndefined();
    expect(await tempFiles()).toEqual([]);
  });

  it('returns an object already present without reading the source', async () => {
    const bytes = randomBytes(3000);
    const digest = digestOf(bytes);
    await store.put('blobs', digest, bytes.length, chunked(bytes));
    const source = untouchable();
    expect(await store.put('blobs', digest, bytes.length, source)).toEqual({ digest, size: bytes.length });
    expect(source.wasRead()).toBe(false);
    expect(source.destroyed).toBe(true);
  });

  it('survives concurrent puts of the same digest with one intact object', async () => {
    const bytes = randomBytes(200_000);
    const digest = digestOf(bytes);
    const results = await Promise.all([1, 2, 3, 4].map(() => store.put('blobs', digest, bytes.length, chunked(bytes))));
    for (const result of results) expect(result).toEqual({ digest, size: bytes.length });
    expect((await readFile(store.path('blobs', digest))).equals(bytes)).toBe(true);
    expect(await tempFiles()).toEqual([]);
  });
});

describe('FileBlobStore.openRead', () => {
  it('streams the object or an inclusive range of it', async () => {
    const bytes = Buffer.from('0123456789abcdef');
    const digest = digestOf(bytes);
    await store.put('blobs', digest, bytes.length, Readable.from([bytes]));
    expect(await text(store.openRead('blobs', digest))).toBe('0123456789abcdef');
    expect(await text(store.openRead('blobs', digest, { start: 3, end: 5 }))).toBe('345');
  });
});

describe('FileBlobStore.signUrl', () => {
  it('signs a URL for the object key under the public base URL, in whole seconds', async () => {
    const now = Date.parse('2030-01-01T00:00:00.700Z');
    const clocked = new FileBlobStore({ root, publicBaseUrl: `${BASE}/`, secret: randomBytes(32), now: () => now });
    const digest = digestOf('x');
    const { url, expiresAt } = await clocked.signUrl('blobs', digest, 900);
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`${BASE}/objects/blobs/sha256/${digest.slice(7)}`);
    expect(expiresAt.toISOString()).toBe('2030-01-01T00:15:00.000Z');
    expect(parsed.searchParams.get('expires')).toBe(String(expiresAt.getTime() / 1000));
    clocked.verifySignature('blobs', digest, parsed.searchParams.get('expires')!, parsed.searchParams.get('sig')!);
  });

  it('reads a base URL given as a function at signing time (port known only after listen)', async () => {
    let base = 'http://127.0.0.1:0';
    const late = new FileBlobStore({ root, publicBaseUrl: () => base, secret: randomBytes(32) });
    base = 'http://127.0.0.1:41234';
    expect((await late.signUrl('blobs', digestOf('x'), 60)).url.startsWith('http://127.0.0.1:41234/objects/')).toBe(true);
  });

  it('keeps URLs valid across a restart: the secret is created once (mode 0600) and reused', async () => {
    const digest = digestOf('y');
    const { url } = await store.signUrl('blobs', digest, 60);
    const info = await stat(join(root, SIGNING_SECRET_FILE));
    expect(info.mode & 0o777).toBe(0o600);
    expect(info.size).toBe(32);
    const reopened = await FileBlobStore.open({ root, publicBaseUrl: BASE });
    const params = new URL(url).searchParams;
    reopened.verifySignature('blobs', digest, params.get('expires')!, params.get('sig')!);
    const elsewhere = await FileBlobStore.open({ root: await mkdtemp(join(tmpdir(), 'other-store-')), publicBaseUrl: BASE });
    expect(() => elsewhere.verifySignature('blobs', digest, params.get('expires')!, params.get('sig')!)).toThrow(/signature/);
  });
});

describe('FileBlobStore.open', () => {
  it('removes temp files left by dead copies and keeps recent ones', async () => {
    const stale = join(root, 'tmp', 'stale.part');
    const fresh = join(root, 'tmp', 'fresh.part');
    await writeFile(stale, 'half a layer');
    await writeFile(fresh, 'a live copy');
    const old = new Date(Date.now() - STALE_TEMP_AGE_MS - 60_000);
    await utimes(stale, old, old);
    await FileBlobStore.open({ root, publicBaseUrl: BASE });
    expect(await tempFiles()).toEqual(['fresh.part']);
  });
});
