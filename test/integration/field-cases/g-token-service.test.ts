import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { beforeAll, describe, expect, it } from 'vitest';
import { parsePlatform } from '../../../shared/platform.ts';
import { createTokenSource } from '../../../shared/registry/token-source.ts';
import { createRetryPolicy, DEFAULT_MAX_ATTEMPTS } from '../../../shared/retry-policy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { challengeOnPing, createTestClient, failure, pushRandomImage, serviceOf, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/*
 * G. The token service and retry waits, with the challenge's realm pointed at the fault proxy
 * (forwarded to the stand-in's token service) so token requests can be seen and faulted.
 */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const amd64 = parsePlatform('linux/amd64');
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;
let service = '';
const proxiedRealm = () => `Bearer realm="${proxy.url}/service/token",service="${service}"`;
const tokenRequests = () => seen().filter((r) => r.path === '/service/token');

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'tokens', [1024]);
  service = await serviceOf(standIn);
});

describe('G. token service and retry waits', () => {
  it('G3: a 429 with Retry-After from the token endpoint is waited out once and the pull succeeds', async () => {
    challengeOnPing(proxy, proxiedRealm());
    proxy.addRule({ match: { path: '/service/token' }, times: 1, action: { type: 'retryAfter', status: 429, afterMs: 2000, form: 'seconds' } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    expect((await registry.resolve(pushed.ref, amd64)).manifestDigest).toBe(pushed.built.digest);
    expect(sleeps).toEqual([2000]);
    await proxy.idle();
    expect(tokenRequests().map((r) => r.status)).toEqual([429, 200]);
    await registry.close();
  });

  it.each(['1.5', '-1', '10, 20', 'abc 1', 'in 5 minutes 2', 'Thu, 01 Jan 1970 00:00:00 GMT'])(
    'G3: a Retry-After of %j (unparsable, or already past) waits the jittered backoff, not zero',
    async (value) => {
      const path = `/v2/${pushed.repository}/manifests/v1`;
      proxy.addRule({ match: { path }, times: 1, action: { type: 'status', status: 503, headers: { 'retry-after': value, 'content-type': 'application/json' }, body: '{"errors":[{"code":"UNAVAILABLE","message":"busy"}]}' } });
      const sleeps: number[] = [];
      const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, retry: createRetryPolicy({ sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 }) });
      await registry.resolve(pushed.ref, amd64);
      expect(sleeps).toEqual([250]); // half (random 0.5) of the first backoff ceiling, 500 ms
      await registry.close();
    },
  );

  it('G2: a token endpoint that answers an HTML login page with 200 fails REGISTRY_ERROR after the policy attempts, not more', async () => {
    challengeOnPing(proxy, proxiedRealm());
    proxy.addRule({ match: { path: '/service/token' }, action: { type: 'status', status: 200, headers: { 'content-type': 'text/html' }, body: '<html><body>Please log in</body></html>' } });
    const registry = robot();
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('token service');
    await proxy.idle();
    expect(tokenRequests()).toHaveLength(DEFAULT_MAX_ATTEMPTS);
    await registry.close();
  });

  it('F4/G: token requests send Accept-Encoding: identity too (a request without it invites any encoding)', async () => {
    challengeOnPing(proxy, proxiedRealm());
    const registry = robot();
    await registry.resolve(pushed.ref, amd64);
    await proxy.idle();
    expect(tokenRequests()).toHaveLength(1);
    expect(tokenRequests()[0]!.acceptEncoding).toBe('identity');
    await registry.close();
  });

  it('F4/G: a token answer with a Content-Encoding anyway is refused, naming the encoding', async () => {
    challengeOnPing(proxy, proxiedRealm());
    proxy.addRule({ match: { path: '/service/token' }, action: { type: 'gzipEncoding' } });
    const registry = robot();
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('Content-Encoding gzip');
    await registry.close();
  });

  it('G1/H2: a registry that answers 401 even to a fresh token: exactly one refresh, DENIED, no retries, no loop', async () => {
    challengeOnPing(proxy, proxiedRealm());
    const path = `/v2/${pushed.repository}/manifests/v1`;
    proxy.addRule({
      match: { path },
      action: {
        type: 'status',
        status: 401,
        headers: { 'www-authenticate': `${proxiedRealm()},scope="repository:${pushed.repository}:pull",error="insufficient_scope"` },
        body: '{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized to access repository"}]}',
      },
    });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err).toMatchObject({ code: 'DENIED', retryable: false });
    expect(sleeps).toEqual([]);
    await proxy.idle();
    expect(seen().filter((r) => r.path === path)).toHaveLength(2);
    expect(tokenRequests()).toHaveLength(2);
    await registry.close();
  });

  it('G1/G2: expires_in 0, negative, a string, huge, 1 s, and issued_at in the future all give a sane cache lifetime', async () => {
    let body: Record<string, unknown> = {};
    let issued = 0;
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `t${++issued}`, ...body })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/service/token`;
    const dispatcher = new Agent();
    try {
      const cases: Array<[Record<string, unknown>, number, number]> = [
        // body, still cached at (ms), refreshed at (ms)
        [{ expires_in: 0 }, 49_000, 51_000],
        [{ expires_in: -30 }, 49_000, 51_000],
        [{ expires_in: '300' }, 49_000, 51_000],
        [{ expires_in: 1e9 }, 86_400_000, Number.NaN],
        [{ expires_in: 300, issued_at: new Date(Date.now() + 3_600_000).toISOString() }, 289_000, 291_000],
        [{ expires_in: 1 }, 400, 600],
      ];
      for (const [value, cachedAt, refreshedAt] of cases) {
        body = value;
        let now = 1_000_000;
        const tokens = createTokenSource({ dispatcher, registry: 'test', now: () => now });
        const req = { realm, scopes: ['repository:a/b:pull'] };
        const first = await tokens.token(req);
        now += cachedAt;
        expect(await tokens.token(req), JSON.stringify(value)).toBe(first);
        if (!Number.isNaN(refreshedAt)) {
          now = 1_000_000 + refreshedAt;
          expect(await tokens.token(req), JSON.stringify(value)).not.toBe(first);
        }
      }
    } finally {
      await dispatcher.close();
      server.close();
    }
  });
});
