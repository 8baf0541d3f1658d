import { beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { serveBytes, useConnectionGuard } from './connection-guard.ts';
import { copyVerified, createTestClient, failure, layerOf, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/*
 * A. Where a redirect may not lead (SSRF): other schemes, and link-local or cloud-metadata
 * addresses however they are spelled or resolved. The connection guard shows that a refused hop
 * is refused before any connection is made.
 */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const elsewhere = useConnectionGuard();
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'targets', [100 * 1024]);
});

describe('A. redirect targets', () => {
  it.each(['file:///etc/passwd', 'FILE:///etc/passwd', 'ftp://storage.example/x', 'data:text/plain,hello', 'javascript:alert(1)', 'gopher://storage.example/x', 'ws://storage.example/x'])(
    'A3: a redirect to %s is REDIRECT_REFUSED and nothing is fetched',
    async (location) => {
      proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 302, headers: { location } } });
      const registry = robot();
      const err = await failure(registry.openBlob(pushed.ref, layerOf(pushed)));
      expect(err).toMatchObject({ code: 'REDIRECT_REFUSED', retryable: false });
      expect(elsewhere.attempts).toEqual([]);
      await registry.close();
    },
  );

  it.each([
    ['decimal IPv4', 'http://2852039166:PORT/latest/meta-data/'],
    ['hex IPv4', 'http://0xa9fea9fe:PORT/latest/meta-data/'],
    ['octal IPv4', 'http://0251.0376.0251.0376:PORT/latest/meta-data/'],
    ['short IPv4', 'http://169.254.43518:PORT/latest/meta-data/'],
    ['trailing dot', 'http://169.254.169.254.:PORT/latest/meta-data/'],
    ['IPv4-mapped IPv6, dotted', 'http://[::ffff:169.254.169.254]:PORT/latest/meta-data/'],
    ['IPv4-mapped IPv6, hex', 'http://[::ffff:a9fe:a9fe]:PORT/latest/meta-data/'],
    ['IPv6 link-local', 'http://[fe80::1]:PORT/'],
    ['AWS IPv6 IMDS', 'http://[fd00:ec2::254]:PORT/latest/meta-data/'],
    ['Alibaba metadata, IPv4-mapped', 'http://[::ffff:100.100.100.200]:PORT/latest/meta-data/'],
    ['AWS IPv6 IMDS, uncompressed', 'http://[fd00:ec2:0:0:0:0:0:254]:PORT/latest/meta-data/'],
  ])('A3: a redirect to a metadata / link-local address spelled as %s is refused before any connection', async (_name, template) => {
    const location = template.replace('PORT', String(elsewhere.port()));
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 307, headers: { location } } });
    const registry = robot();
    const err = await failure(registry.openBlob(pushed.ref, layerOf(pushed)));
    expect(elsewhere.attempts).toEqual([]);
    expect(err).toMatchObject({ code: 'REDIRECT_REFUSED', retryable: false });
    await registry.close();
  });

  it.each([
    ['169.254.169.254', '169.254.169.254'],
    ['Alibaba metadata', '100.100.100.200'],
    ['IPv6 link-local', 'fe80::1'],
    ['AWS IPv6 IMDS', 'fd00:ec2::254'],
    ['IPv4-mapped metadata', '::ffff:169.254.169.254'],
  ])('A3: a redirect to a DNS name that resolves to %s is refused at connect time, before connecting', async (_name, address) => {
    elsewhere.fakeDns.set('metadata-alias.example.test', address);
    elsewhere.routes.set('/latest/meta-data/', serveBytes(pushed.built.layers[0]!.bytes)); // what "metadata" would answer
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 307, headers: { location: `http://metadata-alias.example.test:${elsewhere.port()}/latest/meta-data/` } } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const outcome = await registry.openBlob(pushed.ref, layerOf(pushed)).then(
      async (body) => ({ fetched: await copyVerified(body, layerOf(pushed)) }),
      (err: { code?: string; retryable?: boolean; message?: string }) => ({ code: err.code, retryable: err.retryable, names: err.message?.includes('metadata-alias.example.test') }),
    );
    expect({ attempts: elsewhere.attempts, outcome, sleeps }).toEqual({ attempts: [], outcome: { code: 'REDIRECT_REFUSED', retryable: false, names: true }, sleeps: [] });
    await registry.close();
  });

  it('A3: a redirect to a DNS name that resolves to an ordinary address is followed (the guard refuses addresses, not names)', async () => {
    elsewhere.fakeDns.set('storage.example.test', '127.0.0.1');
    elsewhere.routes.set('/blob', serveBytes(pushed.built.layers[0]!.bytes));
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 307, headers: { location: `http://storage.example.test:${elsewhere.port()}/blob` } } });
    const registry = robot();
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(layer.size);
    expect(elsewhere.log.map((r) => r.url)).toEqual(['/blob']);
    await registry.close();
  });
});
