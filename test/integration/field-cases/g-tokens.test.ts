import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandIn, type StandIn } from '../../../infra/local/harbor-standin.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { createTokenSource } from '../../../shared/registry/token-source.ts';
import { DEFAULT_MAX_RETRY_AFTER_MS } from '../../../shared/retry-policy.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { copyVerified, createTestClient, layerOf, pushRandomImage, type PushedImage } from './field-case-kit.ts';

/*
 * G. Tokens and rate limits — against a stand-in of this file's own that issues 2-second tokens,
 * behind the fault proxy (the challenge realm names the stand-in, another host than the proxy).
 */

const TOKEN_TTL_SECONDS = 2;
/** One read of an undici body is at most this big: "one chunk" in the byte bound. */
const CHUNK = 64 * 1024;
const SIZE = 1024 * 1024;
let standIn: StandIn;
let proxy: FaultProxy;
let pushed: PushedImage;

beforeAll(async () => {
  standIn = await startStandIn({ tokenTtlSeconds: TOKEN_TTL_SECONDS });
  proxy = await startFaultProxy({ target: standIn.url });
  pushed = await pushRandomImage(standIn, 'long-copy', [SIZE], { host: proxy.host });
});
afterAll(async () => {
  await proxy.stop();
  await standIn.stop();
});

/** Token requests and GETs of `path` in the stand-in's log since `from`, in order. */
function tokenAndBlobLog(from: number, path: string): string[] {
  return standIn.requests
    .slice(from)
    .filter((r) => r.path === '/service/token' || r.path === path)
    .map((r) => (r.path === path ? `blob ${r.status}` : 'token'));
}

describe('G. tokens and rate limits', () => {
  it('G1: a copy that outlives its token refreshes it, resumes from where it was, and is served about once', async () => {
    const from = standIn.requests.length;
    const mark = proxy.requests.length;
    // ~2.8 s for the first 700 KiB, then a reset: the token has expired when the copy resumes.
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'throttle', bytesPerSecond: 256 * 1024, resetAfterBytes: 700 * 1024 } });
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot });
    const layer = layerOf(pushed);
    const started = Date.now();
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(SIZE);
    expect(Date.now() - started).toBeGreaterThan(TOKEN_TTL_SECONDS * 1000);
    await proxy.idle();
    const blob = proxy.requests.slice(mark).filter((r) => r.path === pushed.blobPath(0));
    expect(blob.map((r) => r.range)).toEqual([undefined, `bytes=${700 * 1024}-`]);
    expect(proxy.bytesServed(pushed.blobPath(0))).toBeLessThanOrEqual(SIZE + CHUNK);
    // A fresh token was fetched for the resume, before it was sent (not after a 401).
    expect(tokenAndBlobLog(from, pushed.blobPath(0))).toEqual(['token', 'blob 200', 'token', 'blob 206']);
    await registry.close();
  });

  it('G1: a token is refreshed shortly BEFORE it expires, so no request leaves with a token about to die (not only after)', async () => {
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot });
    await registry.resolve(pushed.ref, parsePlatform('linux/amd64'));
    // Past the refresh point (half of a 2 s token's life, as TOKEN_REFRESH_MARGIN_MS is longer) but well before expiry.
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const from = standIn.requests.length;
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(SIZE);
    expect(tokenAndBlobLog(from, pushed.blobPath(0))).toEqual(['token', 'blob 200']);
    await registry.close();
  });

  it('G1: a 401 on the resume (token rejected early) gets a fresh token and the copy still resumes', async () => {
    const mark = proxy.requests.length;
    const challenge = `Bearer realm="${standIn.url}/service/token",service="harbor-registry",scope="repository:${pushed.repository}:pull"`;
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'reset', afterBytes: 300 * 1024 } });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, times: 1, action: { type: 'status', status: 401, headers: { 'www-authenticate': challenge }, body: '{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}' } });
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot });
    const layer = layerOf(pushed);
    expect(await copyVerified(await registry.openBlob(pushed.ref, layer), layer)).toBe(SIZE);
    await proxy.idle();
    const blob = proxy.requests.slice(mark).filter((r) => r.path === pushed.blobPath(0));
    expect(blob.map((r) => [r.status, r.range])).toEqual([
      [200, undefined],
      [401, `bytes=${300 * 1024}-`],
      [206, `bytes=${300 * 1024}-`],
    ]);
    await registry.close();
  });

  it('G2: takes the first non-empty of token and access_token', async () => {
    const bodies: Array<[Record<string, unknown>, string]> = [
      [{ token: 'only-token' }, 'only-token'],
      [{ access_token: 'only-access' }, 'only-access'],
      [{ token: 'both-token', access_token: 'both-access' }, 'both-token'],
      [{ token: '', access_token: 'after-empty' }, 'after-empty'],
      [{ access_token: '', token: 'empty-access' }, 'empty-access'],
    ];
    let next = 0;
    const server: Server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(bodies[next++]![0])));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = new Agent();
    try {
      const realm = `http://127.0.0.1:${(server.address() as AddressInfo).port}/service/token`;
      for (const [, expected] of bodies) {
        const tokens = createTokenSource({ dispatcher, registry: 'test' });
        expect(await tokens.token({ realm, scopes: ['repository:a/b:pull'] })).toBe(expected);
      }
    } finally {
      await dispatcher.close();
      server.close();
    }
  });

  it.each(['seconds', 'date'] as const)('G3: waits as Retry-After (%s) says on 429/503, capped, then succeeds', async (form) => {
    const path = `/v2/${pushed.repository}/manifests/v1`;
    proxy.addRule({ match: { path }, times: 1, action: { type: 'retryAfter', status: 429, afterMs: 3000, form } });
    proxy.addRule({ match: { path }, times: 1, action: { type: 'retryAfter', status: 503, afterMs: 120_000, form } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    await registry.resolve(pushed.ref, parsePlatform('linux/amd64'));
    expect(sleeps).toHaveLength(2);
    // An HTTP-date has one-second resolution: 3 s from now is 2–3 s away by the time it is read.
    expect(sleeps[0]).toBeGreaterThanOrEqual(form === 'seconds' ? 3000 : 1000);
    expect(sleeps[0]).toBeLessThanOrEqual(3000);
    expect(sleeps[1]).toBe(DEFAULT_MAX_RETRY_AFTER_MS);
    await registry.close();
  });

  it('G4: token requests ask exactly for the pull scope of the repository, once per scope', async () => {
    const from = standIn.requests.length;
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot });
    const resolved = await registry.resolve(pushed.ref, parsePlatform('linux/amd64'));
    for (const layer of resolved.layers) await copyVerified(await registry.openBlob(pushed.ref, layer), layer);
    const tokens = standIn.requests.slice(from).filter((r) => r.path === '/service/token');
    expect(tokens).toHaveLength(1);
    expect(tokens[0]!.scopes).toEqual([`repository:${pushed.repository}:pull`]);
    expect(proxy.requests.some((r) => r.path === '/service/token')).toBe(false); // H3: the realm is another host
    await registry.close();
  });
});
