import { MockAgent } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { createRetryPolicy } from '../../../shared/retry-policy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { useConnectionGuard } from './connection-guard.ts';
import { challengeOnPing, createTestClient, failure, pushRandomImage, serviceOf, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/*
 * H3. The challenge names the realm, and the realm gets our credentials: spellings of the
 * challenge that must work, and realms that must never get a request (a metadata address, by
 * name or by resolution) or must not get the password in clear text (http realm, https registry).
 */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const elsewhere = useConnectionGuard();
const amd64 = parsePlatform('linux/amd64');
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;
let service = '';
const proxiedRealm = () => `Bearer realm="${proxy.url}/service/token",service="${service}"`;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'challenges', [1024]);
  service = await serviceOf(standIn);
});

/** What reached "elsewhere" (the stand-in for metadata): path and auth scheme only. */
const sentElsewhere = () => elsewhere.log.map((r) => ({ url: r.url.split('?')[0], authorization: r.headers.authorization?.split(' ')[0] }));

describe('H3. challenges and realms', () => {
  it.each([
    ['Basic then Bearer in one field', () => `Basic realm="harbor", ${proxiedRealm()}`],
    ['Bearer then Basic in one field', () => `${proxiedRealm()}, Basic realm="harbor"`],
    ['Basic and Bearer in two fields', () => ['Basic realm="harbor"', proxiedRealm()]],
    ['unquoted service', () => `Bearer realm="${proxy.url}/service/token",service=${service}`],
    ['unquoted realm URL (go-containerregistry accepts it)', () => `Bearer realm=${proxy.url}/service/token,service=${service}`],
    ['unquoted realm URL and service, spaces after commas', () => `Bearer realm=${proxy.url}/service/token, service=${service}`],
    ['upper-case scheme and parameter names', () => `BEARER REALM="${proxy.url}/service/token", SERVICE="${service}"`],
  ])('H3: challenge with %s: the Bearer realm is used', async (_name, challenge) => {
    challengeOnPing(proxy, challenge());
    const registry = robot();
    expect((await registry.resolve(pushed.ref, amd64)).manifestDigest).toBe(pushed.built.digest);
    await proxy.idle();
    expect(seen().filter((r) => r.path === '/service/token')).toHaveLength(1);
    await registry.close();
  });

  it.each([
    ['the metadata address', () => `http://169.254.169.254:${elsewhere.port()}/latest/api/token`],
    ['the metadata address, IPv4-mapped', () => `http://[::ffff:169.254.169.254]:${elsewhere.port()}/latest/api/token`],
    ['a name that resolves to the metadata address', () => `http://metadata-alias.example.test:${elsewhere.port()}/latest/api/token`],
  ])('H3: a realm on %s is refused: no token request, no credentials sent there, not retried', async (_name, realm) => {
    elsewhere.fakeDns.set('metadata-alias.example.test', '169.254.169.254');
    challengeOnPing(proxy, `Bearer realm="${realm()}",service="${service}"`);
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect({ attempts: elsewhere.attempts, sent: sentElsewhere(), code: err.code, retryable: err.retryable, sleeps }).toEqual({
      attempts: [],
      sent: [],
      code: 'REDIRECT_REFUSED',
      retryable: false,
      sleeps: [],
    });
    await registry.close();
  });

  it.each(['ftp://registry.example.test/token', 'file:///etc/passwd'])('H3: a realm with another scheme (%s) is refused, not retried', async (realm) => {
    challengeOnPing(proxy, `Bearer realm="${realm}",service="${service}"`);
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: false });
    expect(sleeps).toEqual([]);
    await registry.close();
  });

  it('H3: a secure registry whose challenge names an http:// realm is refused: the Basic credentials never travel in clear text', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const tokenRequests: string[] = [];
    const registryOrigin = mock.get('https://registry.example.test');
    registryOrigin
      .intercept({ path: '/v2/', method: 'GET' })
      .reply(401, '{"errors":[{"code":"UNAUTHORIZED"}]}', { headers: { 'www-authenticate': 'Bearer realm="http://registry.example.test/service/token",service="harbor-registry"' } })
      .persist();
    registryOrigin.intercept({ path: /\/manifests\//, method: 'GET' }).reply(404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}').persist();
    mock
      .get('http://registry.example.test')
      .intercept({ path: /^\/service\/token/, method: 'GET' })
      .reply((opts) => {
        const headers = opts.headers as Record<string, string> | undefined;
        tokenRequests.push(headers?.authorization?.split(' ')[0] ?? 'anonymous');
        return { statusCode: 200, data: JSON.stringify({ token: 'tok', expires_in: 300 }) };
      })
      .persist();
    const registry = createTestClient('https://registry.example.test', { credentials: standIn.users.robot, dispatcher: mock, retry: createRetryPolicy({ maxAttempts: 1 }) });
    const err = await failure(registry.resolve(parseImageRef('registry.example.test/team/app:v1'), amd64));
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: false });
    expect(err.message).toContain('http://');
    expect(tokenRequests).toEqual([]);
    await registry.close();
    await mock.close();
  });

  it('H3: an http registry may name an http realm (the stand-in and on-prem Harbor without TLS)', async () => {
    challengeOnPing(proxy, proxiedRealm());
    expect(proxy.url.startsWith('http://')).toBe(true);
    const registry = robot();
    expect((await registry.resolve(pushed.ref, amd64)).manifestDigest).toBe(pushed.built.digest);
    await proxy.idle();
    expect(seen().filter((r) => r.path === '/service/token').map((r) => r.authorized)).toEqual([true]);
    await registry.close();
  });
});
