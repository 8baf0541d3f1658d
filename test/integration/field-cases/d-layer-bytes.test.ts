import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../infra/local/fixtures/image-builder.ts';
import { buildLayer } from '../../../infra/local/fixtures/layer-tar.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure } from './field-case-kit.ts';

/*
 * D. Layer bytes. Copying never decodes: the bytes stored are the bytes the digest names. Decoder
 * choice and magic checks at extraction are tested in test/unit/layer/extract-layer.test.ts (D1).
 */

const { standIn, fixtures } = useStandIn();
let proxy: FaultProxy;
const viaProxy = (image: string) => parseImageRef(image.replace(standIn.host, proxy.host));

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
});
afterAll(() => proxy.stop());

/** Pushes one image whose single layer is `bytes` as `mediaType`; returns its reference through the proxy. */
async function pushLayer(name: string, bytes: Buffer, mediaType: string) {
  const repository = `team/${name}-${randomBytes(6).toString('hex')}`;
  const built = buildImage({ format: 'oci', platform: { os: 'linux', architecture: 'amd64' }, layers: [{ bytes, mediaType }] });
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushImage(repository, built, 'v1');
  return { ref: viaProxy(`${standIn.host}/${repository}:v1`), layer: built.layers[0]!, path: `/v2/${repository}/blobs/${built.layers[0]!.digest}` };
}

describe('D. layer bytes', () => {
  it.each([
    ['docker-single', [0x1f, 0x8b]],
    ['oci-zstd', [0x28, 0xb5, 0x2f, 0xfd]],
    ['oci-plain', []],
  ] as const)('D1: the %s layer is copied as stored, never decompressed', async (name, magic) => {
    const fixture = fixtures[name];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin });
    const resolved = await registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/amd64'));
    for (const layer of resolved.layers) {
      const chunks: Buffer[] = [];
      const body = await registry.openBlob(viaProxy(fixture.ref), layer);
      body.on('data', (chunk: Buffer) => chunks.push(chunk));
      expect(await copyVerified(body, layer)).toBe(layer.size);
      expect([...Buffer.concat(chunks).subarray(0, magic.length)]).toEqual([...magic]);
    }
    await registry.close();
  });

  it('D2: a gzip stream followed by junk is judged by its digest over every byte, junk included', async () => {
    const tar = await buildLayer([{ path: 'app', content: 'binary' }], 'none');
    const bytes = Buffer.concat([gzipSync(tar.bytes), randomBytes(4096)]);
    const pushed = await pushLayer('gzip-junk', bytes, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin });
    expect(await copyVerified(await registry.openBlob(pushed.ref, pushed.layer), pushed.layer)).toBe(bytes.length);
    // One changed byte in the junk, after the valid gzip stream: the digest still decides.
    proxy.addRule({ match: { path: pushed.path }, times: 1, action: { type: 'flipByte', offset: bytes.length - 10 } });
    expect((await failure(copyVerified(await registry.openBlob(pushed.ref, pushed.layer), pushed.layer))).code).toBe('DIGEST_MISMATCH');
    await registry.close();
  });

  it('D3: bytes after the tar end-of-archive marker are read and verified too', async () => {
    const tar = await buildLayer([{ path: 'app', content: 'binary' }], 'none');
    const bytes = Buffer.concat([tar.bytes, Buffer.alloc(64 * 1024)]); // zero padding past the two end blocks
    const pushed = await pushLayer('tar-padding', bytes, 'application/vnd.oci.image.layer.v1.tar');
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin });
    expect(await copyVerified(await registry.openBlob(pushed.ref, pushed.layer), pushed.layer)).toBe(bytes.length);
    await proxy.idle();
    expect(proxy.bytesServed(pushed.path)).toBe(bytes.length);
    await registry.close();
  });
});
