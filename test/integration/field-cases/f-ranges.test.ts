import type { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlatform } from '../../../shared/platform.ts';
import { MAX_RESUMES } from '../../../shared/registry/resumable-blob.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/* F. Ranges, lengths, encodings — faults injected by the proxy into the real registry's blob answers. */

const { standIn } = useStandIn();
/** One read of an undici body is at most this big: "one chunk" in the byte bounds below. */
const CHUNK = 64 * 1024;
const CUT = 100_000;
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
let pushed: PushedImage;
const client = () => createTestClient(proxy.url, { credentials: standIn.users.admin });
const blobRequests = () => seen().filter((r) => r.path === pushed.blobPath(0));

/** Counts the bytes a stream hands its consumer, beside the verifier. */
function counted(body: Readable): { body: Readable; bytes: () => number } {
  let bytes = 0;
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  return { body, bytes: () => bytes };
}

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'ranges', [600 * 1024]);
});

describe('F. ranges, lengths, encodings', () => {
  it('F1: a reset mid-blob resumes with Range: bytes=N- and serves each byte about once', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    const registry = client();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    expect(blobRequests().map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [206, `bytes=${CUT}-`],
    ]);
    const served = blobRequests().reduce((sum, r) => sum + r.bytes, 0);
    expect(served).toBeLessThanOrEqual(layer.size + CHUNK);
    await registry.close();
  });

  it('F1: resumes are capped and need progress: a server that always resets gives up, retryable', async () => {
    const registry = client();
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'reset', afterBytes: 0 } });
    const stalled = await failure(copyVerified(await registry.openBlob(pushed.ref, layer), layer));
    expect(stalled).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retryable: true });
    await proxy.idle();
    expect(blobRequests()).toHaveLength(2); // the first answer, one resume from 0, then no progress: stop
    proxy.clearRules();
    proxy.resetSeen();
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'reset', afterBytes: 1000 } });
    const capped = await failure(copyVerified(await registry.openBlob(pushed.ref, layer), layer));
    expect(capped.code).toBe('REGISTRY_UNAVAILABLE');
    await proxy.idle();
    expect(blobRequests()).toHaveLength(1 + MAX_RESUMES);
    await registry.close();
  });

  it('F1: a 206 whose Content-Range does not start at N is refused, nothing appended', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'wrongContentRange' } });
    const registry = client();
    const layer = layerOf(pushed);
    const stream = counted(await registry.openBlob(pushed.ref, layer));
    const err = await failure(copyVerified(stream.body, layer));
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: true });
    expect(err.message).toContain('Content-Range');
    expect(stream.bytes()).toBe(CUT);
    await registry.close();
  });

  it('F2: a server that ignores Range (200 with the whole body) is noticed; the whole body is never appended after N bytes', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'ignoreRange' } });
    const registry = client();
    const layer = layerOf(pushed);
    const stream = counted(await registry.openBlob(pushed.ref, layer));
    const err = await failure(copyVerified(stream.body, layer));
    // Retryable for the delivery, which starts again from zero with a fresh hash (relay-faults.test.ts shows it ends done).
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: true });
    expect(err.message).toContain('Range ignored');
    expect(stream.bytes()).toBe(CUT);
    await registry.close();
  });

  it('F2: a 200 to the first request after a reset before any byte simply starts from zero', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: 0 } });
    const registry = client();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await registry.close();
  });

  it('F3: no Content-Length (chunked) is fine, and a chunked body that ends early is resumed', async () => {
    const registry = client();
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'dropContentLength' } });
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'truncate', bytes: CUT } });
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    expect(blobRequests().at(-1)?.range).toBe(`bytes=${CUT}-`);
    await registry.close();
  });

  it('F4: sends Accept-Encoding: identity on every registry and storage request, and refuses a Content-Encoding', async () => {
    const registry = client();
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'storageRedirect' } });
    const resolved = await registry.resolve(pushed.ref, parsePlatform('linux/amd64'));
    for (const layer of resolved.layers) await copyVerified(await registry.openBlob(pushed.ref, layer), layer);
    await proxy.idle();
    expect(seen().length).toBeGreaterThan(3);
    expect(seen().every((r) => r.acceptEncoding === 'identity')).toBe(true);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'gzipEncoding' } });
    const err = await failure(registry.openBlob(pushed.ref, layerOf(pushed)));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('Content-Encoding gzip');
    await registry.close();
  });
});
