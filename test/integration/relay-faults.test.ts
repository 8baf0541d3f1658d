import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { splitDigest, parseDigest } from '../../shared/digest.ts';
import type { PullRecord } from '../../shared/pull-record.ts';
import { DEFAULT_MAX_ATTEMPTS as CLIENT_ATTEMPTS } from '../../shared/retry-policy.ts';
import { startFaultProxy, type FaultAction, type FaultProxy } from '../support/fault-proxy.ts';
import { useStandIn } from '../support/standin-context.ts';
import { fetchBytes, startTestRelay, type TestRelay } from '../support/test-relay.ts';
import { pushRandomImage } from './field-cases/field-case-kit.ts';

/*
 * The whole relay (POST /v1/pulls → worker → store) against the real registry behind the fault
 * proxy: transient faults end `done` with every blob verified, permanent ones `failed` with a
 * specific code, within a bounded time. The relay runs with RELAY_MAX_ATTEMPTS=3 and no delay
 * between deliveries; the registry client keeps its real retry policy.
 */

const { standIn, fixtures } = useStandIn();
const DELIVERIES = 3;
/** A failed pull must be decided within this: retries are bounded in both layers (G3). */
const DECIDED_WITHIN_MS = 20_000;
let proxy: FaultProxy;
let relay: TestRelay;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  relay = await startTestRelay({
    HARBOR_URL: proxy.url,
    HARBOR_USERNAME: standIn.users.robot.username,
    HARBOR_PASSWORD: standIn.users.robot.password,
    RELAY_MAX_ATTEMPTS: String(DELIVERIES),
  });
});
afterAll(async () => {
  await relay.stop();
  await proxy.stop();
});
afterEach(() => proxy.clearRules());

/** Posts a pull and waits for its outcome. */
async function pull(image: string, platform?: string): Promise<{ record: PullRecord & { error?: { code: string; message: string } }; ms: number }> {
  const started = Date.now();
  const { status, body } = await relay.postPull({ image, ...(platform ? { platform } : {}) });
  expect(status).toBe(202);
  const record = (await relay.waitForPull(body.id, DECIDED_WITHIN_MS)) as PullRecord & { error?: { code: string; message: string } };
  return { record, ms: Date.now() - started };
}

/** Downloads every layer of a done pull through its signed URL and checks the bytes against the digest. */
async function expectEveryBlobVerified(record: PullRecord): Promise<void> {
  expect(record.state).toBe('done');
  expect(record.layers.length).toBeGreaterThan(0);
  for (const layer of record.layers) {
    const info = (await (await fetch(`${relay.url}/v1/blobs/${layer.digest}`)).json()) as { url: string };
    const { status, bytes } = await fetchBytes(info.url);
    expect(status).toBe(200);
    const { algorithm } = splitDigest(parseDigest(layer.digest));
    expect(`${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`).toBe(layer.digest);
  }
}

describe('relay through the fault proxy: transient faults end done, every blob verified', () => {
  const transient: Array<[string, FaultAction[]]> = [
    ['F1: a reset mid-blob (resumed with Range)', [{ type: 'reset', afterBytes: 100_000 }]],
    ['F3: a chunked body cut short (resumed with Range)', [{ type: 'truncate', bytes: 50_000 }]],
    ['G3: two 503s with Retry-After', [{ type: 'retryAfter', status: 503, afterMs: 0, form: 'seconds' }, { type: 'retryAfter', status: 503, afterMs: 0, form: 'date' }]],
    ['A1: an expired storage URL, then a fresh redirect', [{ type: 'storageRedirect', ttlMs: -1 }, { type: 'storageRedirect' }]],
    ['E2: one corrupt answer (the next delivery copies again)', [{ type: 'flipByte' }]],
    ['F2: a reset, then Range ignored (the next delivery restarts from zero)', [{ type: 'reset', afterBytes: 100_000 }, { type: 'ignoreRange' }]],
  ];
  it.each(transient)('%s', async (name, actions) => {
    const pushed = await pushRandomImage(standIn, 'transient', [1024, 300 * 1024], { host: proxy.host });
    for (const action of actions) proxy.addRule({ match: { path: pushed.blobPath(1) }, times: 1, action });
    const { record } = await pull(pushed.image);
    expect(record.error, name).toBeUndefined();
    await expectEveryBlobVerified(record);
    await proxy.idle();
    expect(proxy.requests.filter((r) => r.path === pushed.blobPath(1) && r.ruleApplied).length).toBe(actions.length);
  });
});

describe('relay through the fault proxy: permanent faults end failed with a specific code, in bounded time', () => {
  it('H1: a missing tag fails IMAGE_NOT_FOUND after one attempt', async () => {
    const pushed = await pushRandomImage(standIn, 'permanent', [1024], { host: proxy.host });
    proxy.addRule({ match: { path: `/v2/${pushed.repository}/manifests/v1` }, action: { type: 'status', status: 404, body: '{"errors":[{"code":"NOT_FOUND","message":"artifact not found"}]}' } });
    const { record } = await pull(pushed.image);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe('IMAGE_NOT_FOUND');
    await proxy.idle();
    expect(proxy.requests.filter((r) => r.path === `/v2/${pushed.repository}/manifests/v1`)).toHaveLength(1);
  });

  it('A3: a redirect to the cloud metadata address fails REDIRECT_REFUSED, never fetched', async () => {
    const pushed = await pushRandomImage(standIn, 'permanent', [1024], { host: proxy.host });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'redirect', location: 'http://169.254.169.254/latest', status: 307 } });
    const { record } = await pull(pushed.image);
    expect(record.error?.code).toBe('REDIRECT_REFUSED');
  });

  it('F4: a body re-encoded with gzip fails REGISTRY_ERROR naming Content-Encoding', async () => {
    const pushed = await pushRandomImage(standIn, 'permanent', [1024], { host: proxy.host });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'gzipEncoding' } });
    const { record } = await pull(pushed.image);
    expect(record.error?.code).toBe('REGISTRY_ERROR');
    expect(record.error?.message).toContain('Content-Encoding');
  });

  it('C: a single-platform image asked for another platform fails PLATFORM_NOT_FOUND naming what it is', async () => {
    const { record } = await pull(fixtures['docker-single'].ref.replace(standIn.host, proxy.host), 'linux/arm64');
    expect(record.error?.code).toBe('PLATFORM_NOT_FOUND');
    expect(record.error?.message).toContain('linux/amd64');
  });

  it('G3: a 503 storm fails REGISTRY_UNAVAILABLE after client attempts × deliveries requests, not more', async () => {
    const pushed = await pushRandomImage(standIn, 'storm', [1024], { host: proxy.host });
    proxy.addRule({ match: { path: pushed.blobPath(0) }, action: { type: 'retryAfter', status: 503, afterMs: 0, form: 'seconds' } });
    const { record, ms } = await pull(pushed.image);
    expect(record.error?.code).toBe('REGISTRY_UNAVAILABLE');
    expect(ms).toBeLessThan(DECIDED_WITHIN_MS);
    await proxy.idle();
    expect(proxy.requests.filter((r) => r.path === pushed.blobPath(0))).toHaveLength(CLIENT_ATTEMPTS * DELIVERIES);
  });

  it('E2: a blob served with one wrong byte every time is not stored and the pull fails with DIGEST_MISMATCH', async () => {
    const fixture = fixtures['oci-zstd'];
    const layer = fixture.platforms[0]!.layers[0]!;
    proxy.addRule({ match: { method: 'GET', path: `/v2/${fixture.repository}/blobs/${layer.digest}` }, action: { type: 'flipByte' } });
    const { record } = await pull(`${proxy.host}/${fixture.repository}:${fixture.tag}`);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe('DIGEST_MISMATCH');
    expect(record.error?.message).toContain(layer.digest);
    // Retried (a corrupt cache may heal), but bounded: one GET per delivery.
    await proxy.idle();
    const blobGets = proxy.requests.filter((r) => r.path.endsWith(`/blobs/${layer.digest}`));
    expect(blobGets.every((r) => r.ruleApplied === 'flipByte')).toBe(true);
    expect(blobGets.length).toBe(DELIVERIES);
    // Nothing under the digest, nothing half-written.
    const { algorithm, hex } = splitDigest(parseDigest(layer.digest));
    expect(existsSync(join(relay.dataDir, 'blobs', algorithm, hex))).toBe(false);
    expect(readdirSync(join(relay.dataDir, 'tmp'))).toEqual([]);
    expect((await fetch(`${relay.url}/v1/blobs/${layer.digest}`)).status).toBe(404);
  });
});
