import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, type PushedImage } from './field-case-kit.ts';

/*
 * K. Foreign layers and memory. K1 through the proxy and a "foreign" server of this file; K2 (memory
 * flat in blob size) is a benchmark's to measure — its structural property (the blob stream holds
 * one chunk plus its highWaterMark whatever the size) is tested in test/unit/registry/resumable-blob.test.ts.
 */

const { standIn } = useStandIn();
let proxy: FaultProxy;
let pushed: PushedImage;
let foreign: Server;
let foreignHost = '';
const foreignLog: IncomingHttpHeaders[] = [];

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  pushed = await pushRandomImage(standIn, 'foreign', [40 * 1024]);
  const bytes = pushed.built.layers[0]!.bytes;
  foreign = createServer((req, res) => {
    foreignLog.push(req.headers);
    res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
  });
  await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
  foreignHost = `127.0.0.1:${(foreign.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await proxy.stop();
  foreign.close();
});

describe('K. foreign layers', () => {
  it('K1: a layer with urls comes from the registry unless the operator allows the host', async () => {
    const layer = { ...layerOf(pushed), urls: [`http://${foreignHost}/layer.tar`] };
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin });
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    expect(foreignLog).toHaveLength(0);
    await registry.close();
  });

  it('K1: an allowed foreign host is fetched without any credentials', async () => {
    const layer = { ...layerOf(pushed), urls: ['http://not-allowed.invalid/x', `http://${foreignHost}/layer.tar`] };
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: [foreignHost] });
    const before = proxy.requests.length;
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    expect(foreignLog).toHaveLength(1);
    expect(foreignLog[0]!.authorization).toBeUndefined();
    await proxy.idle();
    expect(proxy.requests.slice(before).filter((r) => r.path.includes('/blobs/'))).toEqual([]);
    await registry.close();
  });

  it('K1: a foreign URL on a link-local or metadata host is refused even when allowed', async () => {
    const layer = { ...layerOf(pushed), urls: ['http://169.254.169.254/latest/meta-data/iam'] };
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, foreignHosts: ['169.254.169.254'] });
    expect((await failure(registry.openBlob(pushed.ref, layer))).code).toBe('REDIRECT_REFUSED');
    await registry.close();
  });
});
