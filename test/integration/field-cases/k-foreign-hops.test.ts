import { beforeAll, describe, expect, it } from 'vitest';
import type { Descriptor } from '../../../shared/registry/descriptor.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { redirectTo, serveBytes, useConnectionGuard } from './connection-guard.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/*
 * K1. Foreign-layer URLs on allowed hosts: metadata addresses however spelled or resolved are
 * refused outright; every redirect hop must be on RELAY_FOREIGN_HOSTS too, else the foreign URL
 * is skipped and the blob comes from the registry.
 */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const elsewhere = useConnectionGuard();
let pushed: PushedImage;
const foreignLayer = (urls: string[]): Descriptor => ({ ...layerOf(pushed), mediaType: 'application/vnd.oci.image.layer.nondistributable.v1.tar', urls });
const registryBlobGets = () => seen().filter((r) => r.path === pushed.blobPath(0));

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'foreign', [100 * 1024]);
});

describe('K1. foreign hosts and their hops', () => {
  it.each([
    ['decimal IPv4', 'http://2852039166/x', '169.254.169.254'],
    ['hex IPv4', 'http://0xa9fea9fe/x', '169.254.169.254'],
    ['IPv4-mapped IPv6', 'http://[::ffff:169.254.169.254]/x', '[::ffff:a9fe:a9fe]'],
    ['IPv6 link-local', 'http://[fe80::1]/x', '[fe80::1]'],
    ['Alibaba metadata, IPv4-mapped', 'http://[::ffff:100.100.100.200]/x', '[::ffff:6464:64c8]'],
    ['AWS IPv6 IMDS', 'http://[fd00:ec2::254]/x', '[fd00:ec2::254]'],
  ])('K1: a foreign URL on a metadata / link-local address spelled as %s is refused even when its host is allowed', async (_name, url, allowed) => {
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: [allowed] });
    const err = await failure(registry.openBlob(pushed.ref, foreignLayer([url])));
    expect(elsewhere.attempts).toEqual([]);
    expect(err).toMatchObject({ code: 'REDIRECT_REFUSED', retryable: false });
    await registry.close();
  });

  it('K1: an allowed foreign host whose name resolves to 169.254.169.254 is refused before connecting', async () => {
    elsewhere.fakeDns.set('layers.example.test', '169.254.169.254');
    elsewhere.routes.set('/layer.tar', serveBytes(pushed.built.layers[0]!.bytes));
    const layer = foreignLayer([`http://layers.example.test:${elsewhere.port()}/layer.tar`]);
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: ['layers.example.test'] });
    const outcome = await registry.openBlob(pushed.ref, layer).then(
      async (body) => ({ fetched: await copyVerified(body, layer) }),
      (err: { code?: string }) => ({ code: err.code }),
    );
    expect({ attempts: elsewhere.attempts, outcome }).toEqual({ attempts: [], outcome: { code: 'REDIRECT_REFUSED' } });
    await registry.close();
  });

  it('K1: an allowed foreign host that redirects to a host the operator did not allow is not followed there; the blob comes from the registry', async () => {
    elsewhere.fakeDns.set('cdn.example.test', '127.0.0.1');
    elsewhere.routes.set('/layer.tar', redirectTo(302, `http://localhost:${elsewhere.port()}/internal-service/layer.tar`));
    elsewhere.routes.set('/internal-service/layer.tar', serveBytes(pushed.built.layers[0]!.bytes));
    const layer = foreignLayer([`http://cdn.example.test:${elsewhere.port()}/layer.tar`]);
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: ['cdn.example.test'] });
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    expect(elsewhere.log.map((r) => r.url)).toEqual(['/layer.tar']);
    await proxy.idle();
    expect(registryBlobGets()).toHaveLength(1);
    await registry.close();
  });

  it('K1: a redirect from one allowed foreign host to another allowed host is followed, without credentials', async () => {
    elsewhere.fakeDns.set('cdn.example.test', '127.0.0.1');
    elsewhere.fakeDns.set('blobs.cdn.example.test', '127.0.0.1');
    elsewhere.routes.set('/layer.tar', redirectTo(302, `http://blobs.cdn.example.test:${elsewhere.port()}/signed/layer.tar`));
    elsewhere.routes.set('/signed/layer.tar', serveBytes(pushed.built.layers[0]!.bytes));
    const layer = foreignLayer([`http://cdn.example.test:${elsewhere.port()}/layer.tar`]);
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: ['cdn.example.test', 'blobs.cdn.example.test'] });
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    expect(elsewhere.log.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/layer.tar', undefined],
      ['/signed/layer.tar', undefined],
    ]);
    await proxy.idle();
    expect(registryBlobGets()).toHaveLength(0);
    await registry.close();
  });
});
