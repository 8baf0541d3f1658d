import { createHash } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRegistrySession } from '../support/registry-session.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { useStandIn } from '../support/standin-context.ts';

const { standIn, fixtures } = useStandIn();
const busybox = fixtures.busybox;
const bigLayer = busybox.platforms[0]!.layers[0]!;
const blobPath = `/v2/${busybox.repository}/blobs/${bigLayer.digest}`;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let proxy: FaultProxy;
let token: string;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  token = (await createRegistrySession(standIn.url).token(standIn.users.admin, [`repository:${busybox.repository}:pull`])).token!;
});
afterAll(() => proxy.stop());
afterEach(() => proxy.clearRules());

/** A raw GET through the proxy: no decoding, and the bytes that arrived even when the body breaks. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    const req = request(`${proxy.url}${path}`, { headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'identity', ...headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ...(error ? { error } : {}) });
      };
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => finish());
      res.on('error', finish);
      res.on('aborted', () => finish(new Error('aborted')));
      res.on('close', () => finish(res.complete ? undefined : new Error('closed before the end of the body')));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('fault proxy', () => {
  it('forwards unchanged when no rule matches', async () => {
    const answer = await rawGet(blobPath);
    expect(answer.status).toBe(200);
    expect(sha256(answer.body)).toBe(bigLayer.digest);
    expect(proxy.requests.at(-1)).toMatchObject({ method: 'GET', path: blobPath, status: 200, origin: 'registry', bytes: bigLayer.size });
  });

  it('flipByte changes exactly one byte and keeps the length', async () => {
    proxy.addRule({ match: { method: 'GET', path: blobPath }, action: { type: 'flipByte' } });
    const flipped = await rawGet(blobPath);
    proxy.clearRules();
    const clean = await rawGet(blobPath);
    expect(flipped.body.length).toBe(clean.body.length);
    const differing = [...flipped.body.keys()].filter((index) => flipped.body[index] !== clean.body[index]);
    expect(differing).toEqual([Math.floor(bigLayer.size / 2)]);
    expect(sha256(flipped.body)).not.toBe(bigLayer.digest);
  });

  it('flipByte honours an explicit offset', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'flipByte', offset: 0 } });
    const flipped = await rawGet(blobPath);
    expect(flipped.body[0]).toBe(0x1f ^ 0xff);
  });

  it('status rule answers without forwarding, only the first N times', async () => {
    proxy.addRule({ match: { path: /\/blobs\// }, times: 1, action: { type: 'status', status: 503, headers: { 'retry-after': '2' }, body: 'busy' } });
    const first = await rawGet(blobPath);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('2');
    expect(first.body.toString()).toBe('busy');
    const second = await rawGet(blobPath);
    expect(second.status).toBe(200);
    expect(proxy.requests.slice(-2).map((entry) => entry.ruleApplied)).toEqual(['status', undefined]);
  });

  it('reset cuts the body after N bytes, short of Content-Length', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'reset', afterBytes: 1000 } });
    const answer = await rawGet(blobPath);
    expect(answer.status).toBe(200);
    expect(Number(answer.headers['content-length'])).toBe(bigLayer.size);
    expect(answer.body.length).toBe(1000);
    expect(answer.error).toBeDefined();
  });

  it('truncate ends a chunked body cleanly after N bytes', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'truncate', bytes: 500 } });
    const answer = await rawGet(blobPath);
    expect(answer.headers['content-length']).toBeUndefined();
    expect(answer.body.length).toBe(500);
    expect(answer.error).toBeUndefined();
  });

  it('dropContentLength sends the whole body chunked', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'dropContentLength' } });
    const answer = await rawGet(blobPath);
    expect(answer.headers['content-length']).toBeUndefined();
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(sha256(answer.body)).toBe(bigLayer.digest);
  });

  it('gzipEncoding re-encodes the body and says so', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'gzipEncoding' } });
    const answer = await rawGet(blobPath);
    expect(answer.headers['content-encoding']).toBe('gzip');
    expect(sha256(answer.body)).not.toBe(bigLayer.digest);
    expect(sha256(gunzipSync(answer.body))).toBe(bigLayer.digest);
  });

  it('ignoreRange turns a ranged request into a full 200', async () => {
    const ranged = await rawGet(blobPath, { range: 'bytes=100-' });
    expect(ranged.status).toBe(206);
    expect(ranged.body.length).toBe(bigLayer.size - 100);
    proxy.addRule({ match: { path: blobPath }, action: { type: 'ignoreRange' } });
    const ignored = await rawGet(blobPath, { range: 'bytes=100-' });
    expect(ignored.status).toBe(200);
    expect(ignored.body.length).toBe(bigLayer.size);
  });

  it('stripHeaders removes Docker-Content-Digest', async () => {
    const path = `/v2/${busybox.repository}/manifests/${busybox.tag}`;
    const accept = { accept: busybox.mediaType };
    expect((await rawGet(path, accept)).headers['docker-content-digest']).toBe(busybox.manifestDigest);
    proxy.addRule({ match: { path }, action: { type: 'stripHeaders', names: ['Docker-Content-Digest'] } });
    const answer = await rawGet(path, accept);
    expect(answer.status).toBe(200);
    expect(answer.headers['docker-content-digest']).toBeUndefined();
    expect(sha256(answer.body)).toBe(busybox.manifestDigest);
  });

  it('redirect answers with a Location on another origin carrying the path and query', async () => {
    proxy.addRule({ match: { path: blobPath }, action: { type: 'redirect', location: 'http://127.0.0.2:9/storage', status: 307 } });
    const answer = await rawGet(`${blobPath}?x=1`);
    expect(answer.status).toBe(307);
    expect(answer.headers.location).toBe(`http://127.0.0.2:9/storage${blobPath}?x=1`);
  });

  it('keeps registry upload Locations pointing at the proxy', async () => {
    const push = (await createRegistrySession(standIn.url).token(standIn.users.admin, ['repository:team/proxy-upload:pull,push'])).token!;
    const response = await fetch(`${proxy.url}/v2/team/proxy-upload/blobs/uploads/`, { method: 'POST', headers: { authorization: `Bearer ${push}` } });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toMatch(new RegExp(`^${proxy.url}/`));
  });
});
