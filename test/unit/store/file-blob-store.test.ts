import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { FileBlobStore, STALE_TEMP_AGE_MS } from '../../../shared/store/file-blob-store.ts';
import { SIGNING_SECRET_FILE } from '../../../shared/store/signing-secret.ts';
import { blobStoreContract } from '../../support/blob-store-contract.ts';

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

async function tempFiles(): Promise<string[]> {
  return readdir(join(root, 'tmp'));
}

describe('FileBlobStore: the BlobStore contract', () => {
  blobStoreContract({
    store: () => store,
    readBack: (kind, digest) => readFile(store.path(kind, digest)),
    leftovers: tempFiles,
    pieceBytes: 0, // one temp file, renamed into place
    chunkBytes: 1000,
  });
});

describe('FileBlobStore.path', () => {
  it('lays objects out under <root>/<kind>/<alg>/<hex>', async () => {
    const bytes = randomBytes(5000);
    const objects = [['blobs', digestOf(bytes)], ['files', digestOf(bytes, 'sha512')]] as const;
    for (const [kind, digest] of objects) {
      await store.put(kind, digest, bytes.length, Readable.from([bytes]));
      const [algorithm, hex] = digest.split(':') as [string, string];
      const path = join(root, kind, algorithm, hex);
      expect(store.path(kind, digest)).toBe(path);
      expect((await readFile(path)).equals(bytes)).toBe(true);
    }
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
