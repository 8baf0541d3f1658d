import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_REDIRECTS } from '../../../shared/registry/follow-redirects.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { redirectTo, serveBytes, useConnectionGuard } from './connection-guard.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/*
 * A. Redirect chains: how many hops, relative Locations resolved against the hop that sent them,
 * credentials on the registry origin only, and a storage URL that dies mid-body.
 */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const elsewhere = useConnectionGuard();
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'chains', [600 * 1024]);
});

describe('A. redirect chains', () => {
  it('A3: the cap is 5 hops, all followed: 302/303/307/308/301 with path-relative, protocol-relative and absolute Locations, each resolved against the hop that sent it; credentials only on the registry origin', async () => {
    expect(MAX_REDIRECTS).toBe(5); // the chain below is exactly that long
    const layer = layerOf(pushed);
    const base = pushed.blobPath(0);
    proxy.addRule({ match: { path: base }, times: 1, action: { type: 'status', status: 302, headers: { location: `../blobs/${layer.digest}/hop1` } } });
    proxy.addRule({ match: { path: `${base}/hop1` }, times: 1, action: { type: 'status', status: 303, headers: { location: `//${elsewhere.host()}/s/a/b?X-Amz-Signature=one` } } });
    // Relative to the storage hop /s/a/b, not to the registry URL first asked.
    elsewhere.routes.set('/s/a/b', redirectTo(307, 'c?X-Amz-Signature=two'));
    elsewhere.routes.set('/s/a/c', redirectTo(308, `${proxy.url}${base}/hop4`));
    proxy.addRule({ match: { path: `${base}/hop4` }, times: 1, action: { type: 'status', status: 301, headers: { location: `//${elsewhere.host()}/final` } } });
    elsewhere.routes.set('/final', serveBytes(pushed.built.layers[0]!.bytes));
    const registry = robot();
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    expect(elsewhere.log.map((r) => r.url)).toEqual(['/s/a/b?X-Amz-Signature=one', '/s/a/c?X-Amz-Signature=two', '/final']);
    expect(elsewhere.log.map((r) => r.headers.authorization)).toEqual([undefined, undefined, undefined]);
    const registryHops = seen().filter((r) => r.path.startsWith(base));
    expect(registryHops.map((r) => [r.path.slice(base.length), r.status, r.authorized])).toEqual([
      ['', 302, true],
      ['/hop1', 303, true],
      ['/hop4', 301, true], // back on the registry origin after storage: same origin, so the token goes again
    ]);
    await registry.close();
  });

  it('A3: a 6th redirect is REDIRECT_REFUSED, not followed', async () => {
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 307, headers: { location: `${elsewhere.url()}/r1` } } });
    for (let i = 1; i <= 5; i++) elsewhere.routes.set(`/r${i}`, redirectTo([302, 303, 307, 308, 301][i - 1]!, `/r${i + 1}`));
    elsewhere.routes.set('/r6', serveBytes(pushed.built.layers[0]!.bytes));
    const registry = robot();
    const err = await failure(registry.openBlob(pushed.ref, layer));
    expect(err).toMatchObject({ code: 'REDIRECT_REFUSED', retryable: false });
    expect(elsewhere.log.map((r) => r.url)).toEqual(['/r1', '/r2', '/r3', '/r4', '/r5']);
    await registry.close();
  });

  it('A1: a storage URL that expires while the body is flowing: the resume asks the registry for a fresh redirect, never reuses the dead URL', async () => {
    const layer = layerOf(pushed);
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'storageRedirect', ttlMs: 400 } });
    proxy.addRule({ match: { path: pushed.blobPath(0), origin: 'storage' }, times: 1, action: { type: 'throttle', bytesPerSecond: 256 * 1024, resetAfterBytes: 256 * 1024 } });
    const registry = robot();
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    await proxy.idle();
    const storage = seen().filter((r) => r.origin === 'storage');
    expect(storage.map((r) => [r.status, r.range, r.authorized])).toEqual([
      [200, undefined, false],
      [206, `bytes=${256 * 1024}-`, false],
    ]);
    expect(seen().filter((r) => r.origin === 'registry' && r.path === pushed.blobPath(0)).map((r) => r.status)).toEqual([307, 307]);
    await registry.close();
  });

  it('A3: a TLS failure on an https storage hop is a REGISTRY_ERROR naming the host and the TLS code, not INTERNAL, and is not retried', async () => {
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 307, headers: { location: `https://${elsewhere.host()}/tls-storage?X-Amz-Signature=s` } } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.openBlob(pushed.ref, layerOf(pushed)));
    // "elsewhere" speaks plain HTTP: the TLS handshake fails (as with an untrusted or expired certificate).
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: false });
    expect(err.message).toContain(`TLS with ${elsewhere.host()} failed`);
    expect(err.message).toMatch(/ERR_SSL_|EPROTO/);
    expect(err.message).not.toContain('X-Amz-Signature=s');
    expect(sleeps).toEqual([]);
    await registry.close();
  });
});
