import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalRelay, type LocalRelay } from '../../../cli/serve/local-relay.ts';
import { loadConfig } from '../../../shared/config.ts';
import { parseDigest } from '../../../shared/digest.ts';
import { SqliteCopyLeases } from '../../../shared/leases/sqlite-copy-leases.ts';
import { createLogger } from '../../../shared/log.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { fetchBytes } from '../../support/test-relay.ts';
import { pushCraftedImage } from '../files/push-crafted-layer.ts';

/*
 * Two relays on one store directory and one SQLite file (RELAY_STORE / RELAY_QUEUE), as two
 * `layer-relay serve` processes would run: each has its own worker loop, its own in-process
 * single-flight and its own database connection, so only the copy leases can keep them from both
 * copying. Blob bodies come through the fault proxy slowed down, so the copies really overlap.
 */

const { standIn } = useStandIn();
/** ~1 MiB at 1 MiB/s: the copy lasts about a second, long enough for the other worker to arrive. */
const LAYER_BYTES = 1024 * 1024;
const THROTTLE_BYTES_PER_SECOND = 1024 * 1024;
/** A dead holder's lease that lapses soon, as a crashed relay's would after COPY_LEASE_TTL_MS. */
const DEAD_HOLDER_TTL_MS = 1_500;

let proxy: FaultProxy;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
});
afterAll(() => proxy.stop());
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  proxy.clearRules();
});

interface SharedRelay extends LocalRelay {
  logs: string[];
}

/** `count` relays sharing one data directory, each working on one pull at a time. */
async function startSharedRelays(count: number): Promise<{ dataDir: string; relays: SharedRelay[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'layer-relay-shared-'));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const relays: SharedRelay[] = [];
  for (let i = 0; i < count; i++) {
    const logs: string[] = [];
    const config = loadConfig({
      HARBOR_URL: proxy.url,
      HARBOR_USERNAME: standIn.users.robot.username,
      HARBOR_PASSWORD: standIn.users.robot.password,
      RELAY_STORE: `file:${dataDir}`,
      RELAY_WORKER_CONCURRENCY: '1',
      PORT: '0',
    });
    const relay = await startLocalRelay(config, { log: createLogger({ level: 'debug', write: (line) => logs.push(line) }), retryBaseDelaySeconds: 0 });
    cleanups.push(() => relay.stop());
    relays.push({ ...relay, logs });
  }
  return { dataDir, relays };
}

/** Pushes a one-layer image of random bytes under `tags`, its blob GETs slowed by the proxy. */
async function pushSlowImage(name: string, tags: string[]) {
  const pushed = await pushCraftedImage(standIn, name, [[{ name: 'payload.bin', body: randomBytes(LAYER_BYTES) }]], tags);
  const layer = pushed.image.layers[0]!;
  const blobPath = `/v2/${pushed.repository}/blobs/${layer.digest}`;
  proxy.addRule({ match: { method: 'GET', path: blobPath }, action: { type: 'throttle', bytesPerSecond: THROTTLE_BYTES_PER_SECOND } });
  const refs = pushed.refs.map((ref) => ref.replace(standIn.host, proxy.host));
  return { refs, layer, blobGets: () => proxy.requests.filter((r) => r.method === 'GET' && r.path === blobPath).length };
}

async function postPull(relay: LocalRelay, image: string): Promise<PullRecord> {
  const response = await fetch(`${relay.url}/v1/pulls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image }) });
  expect(response.status).toBe(202);
  return (await response.json()) as PullRecord;
}

async function waitFor(relay: LocalRelay, id: string, done: (record: PullRecord) => boolean, timeoutMs = 20_000): Promise<PullRecord> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const record = (await (await fetch(`${relay.url}/v1/pulls/${id}`)).json()) as PullRecord;
    if (done(record)) return record;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`pull ${id} did not get there within ${timeoutMs} ms`);
}

const finished = (record: PullRecord) => record.state === 'done' || record.state === 'failed';
const logged = (relay: SharedRelay, message: string, digest: string) => relay.logs.filter((line) => line.includes(`"message":"${message}"`) && line.includes(digest)).length;

async function expectServes(relay: LocalRelay, record: PullRecord): Promise<void> {
  const layer = record.layers[0]!;
  const { status, bytes } = await fetchBytes(layer.url!);
  expect(status).toBe(200);
  expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
  void relay;
}

describe('two relays sharing a store and queue', () => {
  it('copy a fresh layer wanted by both once: one worker copies, the other waits for its object', async () => {
    const { relays: [a, b] } = await startSharedRelays(2);
    const { refs, layer, blobGets } = await pushSlowImage('shared-once', ['v1', 'v2']);
    // a's only worker slot takes the first pull; the second, posted to b, wakes b's worker.
    const first = await postPull(a!, refs[0]!);
    await waitFor(a!, first.id, (record) => record.state !== 'queued');
    const second = await postPull(b!, refs[1]!);
    const records = await Promise.all([waitFor(a!, first.id, finished), waitFor(b!, second.id, finished)]);
    expect(records.map((record) => record.state)).toEqual(['done', 'done']);
    await proxy.idle();
    expect(blobGets()).toBe(1);
    // Both workers met at the layer: one copied it, the other waited for that copy.
    expect(logged(a!, 'blob copied', layer.digest) + logged(b!, 'blob copied', layer.digest)).toBe(1);
    expect(logged(a!, 'blob copied by another worker', layer.digest) + logged(b!, 'blob copied by another worker', layer.digest)).toBe(1);
    await expectServes(b!, records[1]!);
  });

  it('take over from a holder that died mid-copy once its lease lapses, and copy the layer', async () => {
    const { dataDir, relays: [a] } = await startSharedRelays(1);
    const { refs, layer, blobGets } = await pushSlowImage('shared-takeover', ['v1']);
    // The dead holder: it took the lease and then nothing renewed or released it.
    const dead = new SqliteCopyLeases({ path: join(dataDir, 'relay.sqlite'), ttlMs: DEAD_HOLDER_TTL_MS });
    expect(await dead.tryAcquire(parseDigest(layer.digest))).toBeDefined();
    dead.close();
    const pull = await postPull(a!, refs[0]!);
    const record = await waitFor(a!, pull.id, finished);
    expect(record.state).toBe('done');
    await proxy.idle();
    expect(blobGets()).toBe(1);
    expect(logged(a!, 'another worker is copying this blob; waiting for it', layer.digest)).toBe(1);
    expect(logged(a!, 'blob copied', layer.digest)).toBe(1);
    await expectServes(a!, record);
  });
});
