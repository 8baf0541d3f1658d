import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { digestOf } from '../../../shared/digest.ts';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, type PushedImage } from './field-case-kit.ts';

/*
 * E. Digests. The verifier itself has unit tests in test/unit/verify-digest.test.ts (E1–E3 by name);
 * here the registry client and the verifier together, on real registry bytes.
 */

const { standIn } = useStandIn();
let proxy: FaultProxy;
let pushed: PushedImage;
const client = () => createTestClient(proxy.url, { credentials: standIn.users.admin });

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  pushed = await pushRandomImage(standIn, 'digests', [200 * 1024]);
});
afterAll(() => proxy.stop());
afterEach(() => proxy.clearRules());

describe('E. digests', () => {
  it('E1: a sha512 blob is fetched by its sha512 digest and hashed with sha512', async () => {
    const repository = `team/sha512-${randomBytes(6).toString('hex')}`;
    const bytes = randomBytes(50_000);
    const digest = digestOf(bytes, 'sha512');
    await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushBlob(repository, { bytes, digest, size: bytes.length, mediaType: 'application/octet-stream' });
    const registry = client();
    const ref = parseImageRef(`${proxy.host}/${repository}:v1`);
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: bytes.length };
    expect(await copyVerified(await registry.openBlob(ref, layer), layer)).toBe(bytes.length);
    await registry.close();
  });

  it('E2: a blob served with one wrong byte fails DIGEST_MISMATCH at the end of the stream', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'flipByte' } });
    const registry = client();
    const layer = layerOf(pushed);
    const err = await failure(copyVerified(await registry.openBlob(pushed.ref, layer), layer));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.retryable).toBe(true); // for the delivery: a corrupt cache may heal; relay-faults shows it ends failed after its attempts
    await registry.close();
  });

  it('E3: a blob longer than its descriptor fails SIZE_MISMATCH, announced or chunked, reading at most one chunk past size', async () => {
    const registry = client();
    const layer = layerOf(pushed);
    const shorter = { ...layer, size: layer.size - 1 };
    expect((await failure(registry.openBlob(pushed.ref, shorter))).code).toBe('SIZE_MISMATCH');
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'dropContentLength' } });
    const err = await failure(copyVerified(await registry.openBlob(pushed.ref, shorter), shorter));
    expect(err.code).toBe('SIZE_MISMATCH');
    await registry.close();
  });

  it('E3: a blob shorter than its descriptor fails SIZE_MISMATCH (announced, or found when resuming past its end)', async () => {
    const registry = client();
    const layer = layerOf(pushed);
    const longer = { ...layer, size: layer.size + 1 };
    expect((await failure(registry.openBlob(pushed.ref, longer))).code).toBe('SIZE_MISMATCH');
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'dropContentLength' } });
    const err = await failure(copyVerified(await registry.openBlob(pushed.ref, longer), longer));
    expect(err.code).toBe('SIZE_MISMATCH');
    await registry.close();
  });
});
