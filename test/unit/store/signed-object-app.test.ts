import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, type Digest } from '../../../shared/digest.ts';
import { installErrorHandling } from '../../../shared/http-errors.ts';
import { silentLogger } from '../../../shared/log.ts';
import { FileBlobStore } from '../../../shared/store/file-blob-store.ts';
import { createSignedObjectApp } from '../../../shared/store/signed-object-app.ts';

const BASE = 'http://relay.test';
const T0 = Date.parse('2030-01-01T00:00:00Z');
let clock = T0;
let root: string;
let store: FileBlobStore;
let app: Hono;
const bytesA = randomBytes(100_000);
const bytesB = randomBytes(1000);
const digestA = digestOf(bytesA);
const digestB = digestOf(bytesB);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'signed-object-app-'));
  store = new FileBlobStore({ root, publicBaseUrl: BASE, secret: randomBytes(32), now: () => clock });
  await store.put('blobs', digestA, bytesA.length, Readable.from([bytesA]));
  await store.put('blobs', digestB, bytesB.length, Readable.from([bytesB]));
  await store.put('files', digestB, bytesB.length, Readable.from([bytesB]));
  // Mounted the way the local server mounts it, behind the one error translation.
  app = new Hono();
  installErrorHandling(app, silentLogger);
  app.route('/', createSignedObjectApp(store));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Path + query of a freshly signed URL (app.request wants a path). */
async function signedPath(kind: 'blobs' | 'files' | 'manifests', digest: Digest, ttl = 900): Promise<string> {
  const url = new URL((await store.signUrl(kind, digest, ttl)).url);
  return `${url.pathname}${url.search}`;
}

async function errorCode(response: Response): Promise<string> {
  const body = (await response.json()) as { error: { code: string } };
  return body.error.code;
}

describe('signed object server', () => {
  it('serves the whole object, streamed, with its headers', async () => {
    clock = T0;
    const response = await app.request(await signedPath('blobs', digestA, 900));
    expect(response.status).toBe(200);
    const body = Buffer.from(await response.arrayBuffer());
    expect(digestOf(body)).toBe(digestA);
    expect(response.headers.get('content-length')).toBe(String(bytesA.length));
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toBe(`"${digestA}"`);
    expect(response.headers.get('cache-control')).toBe('private, max-age=900');
  });

  it('derives max-age from the time the URL has left', async () => {
    clock = T0;
    const path = await signedPath('blobs', digestB, 900);
    clock = T0 + 600_000;
    const response = await app.request(path);
    expect(response.headers.get('cache-control')).toBe('private, max-age=300');
  });

  it.each([
    ['bytes=10-19', 10, 19],
    ['bytes=99990-', 99_990, 99_999],
    ['bytes=-5', 99_995, 99_999],
    ['bytes=0-999999', 0, 99_999],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    clock = T0;
    const response = await app.request(await signedPath('blobs', digestA), { headers: { Range: range } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${bytesA.length}`);
    expect(response.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await response.arrayBuffer()).equals(bytesA.subarray(start, end + 1))).toBe(true);
  });

  it('answers an unsatisfiable range with 416 and the size', async () => {
    clock = T0;
    const response = await app.request(await signedPath('blobs', digestA), { headers: { Range: `bytes=${bytesA.length}-` } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${bytesA.length}`);
    expect(await errorCode(response)).toBe('RANGE_NOT_SATISFIABLE');
  });

  it('serves a multi-range request whole', async () => {
    clock = T0;
    const response = await app.request(await signedPath('blobs', digestA), { headers: { Range: 'bytes=0-1,5-6' } });
    expect(response.status).toBe(200);
    expect(digestOf(Buffer.from(await response.arrayBuffer()))).toBe(digestA);
  });

  it('answers HEAD with the headers and no body, ignoring Range', async () => {
    clock = T0;
    const response = await app.request(await signedPath('blobs', digestA), { method: 'HEAD', headers: { Range: 'bytes=0-9' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(bytesA.length));
    expect(response.headers.get('etag')).toBe(`"${digestA}"`);
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it('refuses a tampered signature with 403 SIGNATURE_INVALID', async () => {
    clock = T0;
    const path = await signedPath('blobs', digestA);
    const tampered = path.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'a' ? 'b' : 'a'}`);
    expect(tampered).not.toBe(path);
    const response = await app.request(tampered);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe('SIGNATURE_INVALID');
  });

  it('refuses a URL without a signature', async () => {
    const response = await app.request(`/objects/blobs/sha256/${digestA.slice(7)}`);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe('SIGNATURE_INVALID');
  });

  it('refuses an expired URL with 403 URL_EXPIRED', async () => {
    clock = T0;
    const path = await signedPath('blobs', digestA, 60);
    clock = T0 + 60_000;
    const response = await app.request(path);
    expect(response.status).toBe(403);
    expect(await errorCode(response)).toBe('URL_EXPIRED');
  });

  it('refuses a signature for key A used on key B, or on another kind', async () => {
    clock = T0;
    const forA = new URL(await signedPath('blobs', digestA), BASE);
    const onB = `/objects/blobs/sha256/${digestB.slice(7)}${forA.search}`;
    const responseB = await app.request(onB);
    expect(responseB.status).toBe(403);
    expect(await errorCode(responseB)).toBe('SIGNATURE_INVALID');

    const forBlobB = new URL(await signedPath('blobs', digestB), BASE);
    const onFileB = await app.request(`/objects/files/sha256/${digestB.slice(7)}${forBlobB.search}`);
    expect(onFileB.status).toBe(403);
  });

  it('answers 404 for a validly signed URL of an object that is not stored', async () => {
    clock = T0;
    const response = await app.request(await signedPath('manifests', digestA));
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('NOT_FOUND');
  });

  it('refuses unknown kinds and malformed digests before touching the disk', async () => {
    const badKind = await app.request(`/objects/tmp/sha256/${digestA.slice(7)}?expires=1&sig=00`);
    expect(badKind.status).toBe(404);
    const badDigest = await app.request(`/objects/blobs/sha256/${digestA.slice(7).toUpperCase()}?expires=1&sig=00`);
    expect(badDigest.status).toBe(400);
    expect(await errorCode(badDigest)).toBe('INVALID_DIGEST');
  });
});
