import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { createStandInClient } from '../../support/standin-client.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pushUniqueImage } from '../../support/unique-image.ts';
import { relayHttp } from './relay-http.ts';

const { standIn } = useStandIn();
const log = createStandInClient(standIn.url);

describe('pull limits (RELAY_MAX_LAYERS, RELAY_MAX_BLOB_BYTES), enforced by the worker before copying', () => {
  let fewLayers: TestRelay;
  let smallBlobs: TestRelay;
  beforeAll(async () => {
    const env = { HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };
    [fewLayers, smallBlobs] = await Promise.all([startTestRelay({ ...env, RELAY_MAX_LAYERS: '1' }), startTestRelay({ ...env, RELAY_MAX_BLOB_BYTES: '65536' })]);
  });
  afterAll(async () => {
    await Promise.all([fewLayers?.stop(), smallBlobs?.stop()]);
  });

  it.each([
    ['more layers than RELAY_MAX_LAYERS', () => fewLayers, 'TOO_MANY_LAYERS', /2 layers; this relay accepts at most 1 \(RELAY_MAX_LAYERS\)/],
    ['a layer larger than RELAY_MAX_BLOB_BYTES', () => smallBlobs, 'BLOB_TOO_LARGE', /at most 65536 \(RELAY_MAX_BLOB_BYTES\)/],
  ])('%s fails the pull after one attempt with a clear code, and copies nothing', async (_, relay, code, message) => {
    // Two layers, the second a 256 KiB gzip of random bytes: over both limits.
    const image = await pushUniqueImage(standIn, 'limits');
    const mark = await log.mark();
    const http = relayHttp(relay().url);
    const answer = await http.call('POST', '/v1/pulls', { body: { image: image.ref } });
    expect(answer.status).toBe(202);
    const record = await http.waitForPull(answer.json.id);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe(code);
    expect(record.error?.message).toMatch(message);
    for (const layer of image.image.layers) expect(await log.blobGets(layer.digest, { since: mark })).toBe(0);
    const manifestGets = (await log.requests(mark)).filter((r) => r.path === `/v2/${image.repository}/manifests/v1`);
    expect(manifestGets.length).toBe(1);
  });
});

describe('request bodies are counted as they stream in (64 KiB limit)', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay({ HARBOR_URL: standIn.url, RELAY_AUTH: 'harbor' });
  });
  afterAll(() => relay?.stop());

  it('a chunked body (no Content-Length) is refused with 413 PAYLOAD_TOO_LARGE as soon as it passes the limit, not after it was read whole', async () => {
    const BODY_CAP = 64 * 1024 * 1024;
    const CHUNK = Buffer.alloc(64 * 1024, 0x20);
    const url = new URL('/v1/pulls', relay.url);
    // Made-up Basic credentials: harbor mode only parses them before the route reads the body.
    const authorization = `Basic ${Buffer.from('nobody:nothing').toString('base64')}`;
    const { status, body, sent } = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', authorization } }, (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8'), sent });
          req.destroy();
        });
      });
      req.on('error', (err) => (answered ? undefined : reject(err)));
      const pump = () => {
        while (!answered && sent < BODY_CAP) {
          sent += CHUNK.length;
          if (!req.write(CHUNK)) return void req.once('drain', pump);
        }
        if (!answered) req.end();
      };
      pump();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    // Answered long before the 64 MiB were sent: the relay stopped reading at the limit.
    expect(sent).toBeLessThan(BODY_CAP / 4);
  });
});
