import { beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/* A. Redirects to storage — through the fault proxy (its storage host behaves as S3 does) in front of the real registry. */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
let pushed: PushedImage;
const client = () => createTestClient(proxy.url, { credentials: standIn.users.robot });

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'redirects', [300 * 1024]);
});

describe('A. redirects to storage', () => {
  it('A1: follows a 307 to storage and never sends the registry token there', async () => {
    proxy.addRule({ match: { method: 'GET', path: pushed.blobPath(0) }, action: { type: 'storageRedirect' } });
    const registry = client();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    const storage = seen().filter((r) => r.origin === 'storage');
    expect(storage).toHaveLength(1);
    expect(storage[0]).toMatchObject({ status: 200, authorized: false, bytes: layer.size });
    // The registry hop did carry the token: it is the storage hop that must not.
    expect(seen().find((r) => r.origin === 'registry' && r.path === pushed.blobPath(0))?.authorized).toBe(true);
    await registry.close();
  });

  it('A1: an expired storage URL is fetched again through the registry for a fresh redirect', async () => {
    proxy.addRule({ match: { method: 'GET', path: pushed.blobPath(0) }, times: 1, action: { type: 'storageRedirect', ttlMs: -1 } });
    proxy.addRule({ match: { method: 'GET', path: pushed.blobPath(0) }, action: { type: 'storageRedirect' } });
    const registry = client();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    const storage = seen().filter((r) => r.origin === 'storage').map((r) => r.status);
    expect(storage).toEqual([403, 200]);
    await registry.close();
  });

  it('A2: never sends HEAD, so a HEAD redirected to a GET-signed URL cannot fail a pull', async () => {
    proxy.addRule({ match: { method: 'HEAD' }, action: { type: 'status', status: 403, body: 'signed for GET' } });
    proxy.addRule({ match: { method: 'GET', path: pushed.blobPath(0) }, action: { type: 'storageRedirect' } });
    const registry = client();
    const resolved = await registry.resolve(pushed.ref, { os: 'linux', architecture: 'amd64' });
    for (const layer of resolved.layers) await copyVerified(await registry.openBlob(pushed.ref, layer), layer);
    await proxy.idle();
    expect(seen().filter((r) => r.method === 'HEAD')).toEqual([]);
    expect(seen().some((r) => r.origin === 'storage' && r.status === 200)).toBe(true);
    await registry.close();
  });

  it.each([301, 302, 303, 307, 308])('A3: follows a %i with a relative Location, credentials kept on the registry origin', async (status) => {
    // `redirect` appends the request path to its location: an origin-relative Location back to the same blob path.
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'redirect', location: '/', status } });
    const registry = client();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    const hops = seen().filter((r) => r.path === pushed.blobPath(0));
    expect(hops.map((r) => r.status)).toEqual([status, 200]);
    expect(hops.every((r) => r.authorized)).toBe(true);
    await registry.close();
  });

  it('A3: caps the hop count, refuses non-http(s) schemes and link-local / metadata hosts with REDIRECT_REFUSED', async () => {
    const registry = client();
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 10, action: { type: 'redirect', location: '/', status: 302 } });
    const loop = await failure(registry.openBlob(pushed.ref, layer));
    expect(loop.code).toBe('REDIRECT_REFUSED');
    expect(loop.message).toContain('more than 5 redirects');
    proxy.clearRules();
    for (const location of ['ftp://storage.example', 'http://169.254.169.254/latest/meta-data', 'http://metadata.google.internal', 'http://[fe80::1]:8080']) {
      proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'redirect', location, status: 307 } });
      const refused = await failure(registry.openBlob(pushed.ref, layer));
      expect(refused.code, location).toBe('REDIRECT_REFUSED');
      expect(refused.retryable).toBe(false);
    }
    await registry.close();
  });
});
