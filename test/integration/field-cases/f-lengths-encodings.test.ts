import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../infra/local/fixtures/image-builder.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/* E/F. Lengths, ranges and encodings at the edges: empty layers, encodings spelled oddly, short and oversized 206s; K2 at the client level. */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
const CUT = 100_000;
let pushed: PushedImage;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'lengths', [600 * 1024]);
});

describe('E/F. lengths, ranges, encodings', () => {
  it('E3: a zero-byte layer is copied and verified, from the registry and through a storage redirect', async () => {
    const repository = `team/empty-${randomBytes(6).toString('hex')}`;
    const built = buildImage({ format: 'oci', platform: { os: 'linux', architecture: 'amd64' }, layers: [{ bytes: Buffer.alloc(0), mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
    await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushImage(repository, built, 'v1');
    const ref = parseImageRef(`${standIn.host}/${repository}:v1`);
    const layer = { mediaType: built.layers[0]!.mediaType, digest: built.layers[0]!.digest, size: 0 };
    const registry = robot();
    expect(await copyVerified(await registry.openBlob(ref, layer), layer)).toBe(0);
    proxy.addRule({ match: { path: `/v2/${repository}/blobs/${layer.digest}` }, times: 1, action: { type: 'storageRedirect' } });
    expect(await copyVerified(await registry.openBlob(ref, layer), layer)).toBe(0);
    await registry.close();
  });

  it.each(['br', 'identity, gzip', 'x-gzip'])('F4: a blob answered with Content-Encoding %j (bytes unchanged) is refused', async (encoding) => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'setHeaders', headers: { 'content-encoding': encoding } } });
    const registry = robot();
    const err = await failure(registry.openBlob(pushed.ref, layerOf(pushed)));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('Content-Encoding');
    await registry.close();
  });

  it('F4: an explicit Content-Encoding: identity is accepted', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'setHeaders', headers: { 'content-encoding': 'identity' } } });
    const registry = robot();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await registry.close();
  });

  it('F1: a 206 with the right Content-Range but a body cut short is resumed again from the new offset', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: 50_000 } });
    const registry = robot();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    expect(seen().filter((r) => r.path === pushed.blobPath(0)).map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [206, `bytes=${CUT}-`],
      [206, `bytes=${CUT + 50_000}-`],
    ]);
    await registry.close();
  });

  it('F1/E3: a 206 whose Content-Range names a larger complete length than the descriptor fails SIZE_MISMATCH, nothing appended', async () => {
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'setHeaders', headers: { 'content-range': `bytes ${CUT}-${layer.size - 1}/${layer.size + 1}` } } });
    const registry = robot();
    const err = await failure(copyVerified(await registry.openBlob(pushed.ref, layer), layer));
    expect(err.code).toBe('SIZE_MISMATCH');
    await registry.close();
  });

  it('F2: Range ignored after a reset fails retryably, and the message promises no next attempt a caller without redelivery would not make', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'ignoreRange' } });
    const registry = robot();
    const layer = layerOf(pushed);
    const err = await failure(copyVerified(await registry.openBlob(pushed.ref, layer), layer));
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: true });
    expect(err.message).toContain('Range ignored');
    expect(err.message).not.toMatch(/next attempt|will restart|restarts/);
    await registry.close();
  });

  it('K2: openBlob hands back a stream as soon as headers arrive, long before a slow body has been served (nothing buffers the blob)', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'throttle', bytesPerSecond: 150 * 1024 } });
    const registry = robot();
    const started = Date.now();
    const body = await registry.openBlob(pushed.ref, layerOf(pushed));
    const openedAfterMs = Date.now() - started;
    const first = await new Promise<Buffer>((resolve, reject) => body.once('data', resolve).once('error', reject));
    expect(first.length).toBeGreaterThan(0);
    expect(openedAfterMs).toBeLessThan(1500); // the whole body takes about 4 s at this pace
    body.destroy();
    await registry.close();
  });
});
