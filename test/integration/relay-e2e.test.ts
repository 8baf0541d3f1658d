import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fixture } from '../../infra/local/fixtures/push-fixtures.ts';
import { BlobAnswerSchema, PullRecordSchema } from '../../functions/api/openapi.ts';
import { useStandIn } from '../support/standin-context.ts';
import { createStandInClient } from '../support/standin-client.ts';
import { fetchBytes, startTestRelay, type TestRelay } from '../support/test-relay.ts';
import { pushUniqueImage } from '../support/unique-image.ts';

const { standIn, fixtures } = useStandIn();
const log = createStandInClient(standIn.url);
const adminEnv = { HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Every fixture × every platform it holds: what a test pulls and what it must get. */
const cases = (Object.values(fixtures) as Fixture[]).flatMap((fixture) => fixture.platforms.map((platform) => ({ fixture, platform })));

describe('relay end to end, through HTTP on 127.0.0.1, against the real registry', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay(adminEnv);
  });
  afterAll(() => relay.stop());

  it.each(cases.map((c) => [`${c.fixture.name} ${c.platform.platform}`, c] as const))('%s: pull ends done, the asked platform is chosen, every layer URL serves its digest', async (_, { fixture, platform }) => {
    const { status, body } = await relay.postPull({ image: fixture.ref, platform: platform.platform });
    expect(status).toBe(202);
    expect(body.state).toBe('queued');
    const record = await relay.waitForPull(body.id);
    expect(record.error).toBeUndefined();
    expect(record.state).toBe('done');
    // The answer is what /openapi.json says it is (strict: no field the document lacks).
    PullRecordSchema.parse(body);
    PullRecordSchema.parse(record);
    expect(record.manifestDigest).toBe(platform.manifestDigest);
    expect(record.layers.map((l) => l.digest)).toEqual(platform.layers.map((l) => l.digest));
    for (const layer of record.layers) {
      expect(layer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      const download = await fetchBytes(layer.url!);
      expect(download.status).toBe(200);
      expect(sha256(download.bytes)).toBe(layer.digest);
      expect(download.bytes.length).toBe(layer.size);
    }
  });

  it('a platform the index lacks fails the pull with PLATFORM_NOT_FOUND listing what exists', async () => {
    const { body } = await relay.postPull({ image: fixtures['oci-index'].ref, platform: 'linux/s390x' });
    const record = await relay.waitForPull(body.id);
    expect(record.state).toBe('failed');
    PullRecordSchema.parse(record);
    expect(record.error?.code).toBe('PLATFORM_NOT_FOUND');
    expect(record.error?.message).toBe('no manifest for platform linux/s390x; available: linux/amd64, linux/arm64');
  });

  it('a tag that does not exist fails with IMAGE_NOT_FOUND after one attempt', async () => {
    const mark = await log.mark();
    const repository = fixtures['docker-single'].repository;
    const { body } = await relay.postPull({ image: `${standIn.host}/${repository}:no-such-tag` });
    const record = await relay.waitForPull(body.id);
    expect(record).toMatchObject({ state: 'failed', error: { code: 'IMAGE_NOT_FOUND' } });
    expect(record.error?.message).toContain('no-such-tag');
    const manifestGets = (await log.requests(mark)).filter((r) => r.path === `/v2/${repository}/manifests/no-such-tag`);
    expect(manifestGets.length).toBe(1);
  });

  it('GET /v1/blobs/:digest answers a signed URL, and ?redirect=1 a 307 to it', async () => {
    const layer = fixtures['docker-single'].platforms[0]!.layers[0]!;
    await relay.waitForPull((await relay.postPull({ image: fixtures['docker-single'].ref })).body.id);
    const info = (await (await fetch(`${relay.url}/v1/blobs/${layer.digest}`)).json()) as { digest: string; size: number; mediaType: string; url: string; expiresAt: string };
    expect(info).toMatchObject({ digest: layer.digest, size: layer.size, mediaType: layer.mediaType });
    BlobAnswerSchema.parse(info);
    expect(Date.parse(info.expiresAt) - Date.now()).toBeGreaterThan(800_000);
    const redirect = await fetch(`${relay.url}/v1/blobs/${layer.digest}?redirect=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(sha256((await fetchBytes(redirect.headers.get('location')!)).bytes)).toBe(layer.digest);
    const missing = await fetch(`${relay.url}/v1/blobs/sha256:${'0'.repeat(64)}`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });

  it('a signed URL with one changed signature byte, or past its expiry, answers 403', async () => {
    const record = await relay.waitForPull((await relay.postPull({ image: fixtures['oci-plain'].ref })).body.id);
    const url = new URL(record.layers[0]!.url!);
    const sig = url.searchParams.get('sig')!;
    const tampered = new URL(url);
    tampered.searchParams.set('sig', `${sig.slice(0, 10)}${sig[10] === '0' ? '1' : '0'}${sig.slice(11)}`);
    const forged = await fetch(tampered);
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
    const expired = new URL(url);
    expired.searchParams.set('expires', String(Math.floor(Date.now() / 1000) - 10));
    expect((await fetch(expired)).status).toBe(403);
    expect((await fetch(url)).status).toBe(200);
  });

  it.each([
    ['not JSON', 'this is not json', 'INVALID_JSON'],
    ['a missing image', {}, 'INVALID_REQUEST'],
    ['an unknown field', { image: fixtures['docker-single'].ref, platfrom: 'linux/arm64' }, 'INVALID_REQUEST'],
    ['a malformed reference', { image: `${standIn.host}/Team/App:1` }, 'INVALID_IMAGE_REF'],
    ['a reference without registry host', { image: 'team/app:1' }, 'INVALID_IMAGE_REF'],
    ['a malformed platform', { image: fixtures['docker-single'].ref, platform: 'linux' }, 'INVALID_PLATFORM'],
    ['an empty image', { image: '' }, 'INVALID_IMAGE_REF'],
    ['an empty platform', { image: fixtures['docker-single'].ref, platform: '' }, 'INVALID_PLATFORM'],
    ['a registry host that is not configured', { image: 'evil.example.com/team/app:1' }, 'REGISTRY_NOT_ALLOWED'],
    ['the metadata address as registry', { image: '169.254.169.254/latest/meta-data:x' }, 'REGISTRY_NOT_ALLOWED'],
  ])('answers 400 for %s with a stable code, and queues nothing', async (_, body, code) => {
    const before = await queueDepth(relay);
    const { status, body: answer } = await relay.postPull(body);
    expect(status).toBe(400);
    expect(answer.error?.code).toBe(code);
    expect(answer.error?.message.length).toBeGreaterThan(10);
    expect(await queueDepth(relay)).toBe(before);
  });

  it.each([
    ['text/plain (a cross-site "simple" request)', 'text/plain'],
    ['a form post', 'application/x-www-form-urlencoded'],
    ['no Content-Type', undefined],
  ])('answers 415 UNSUPPORTED_MEDIA_TYPE for a JSON body sent as %s, and queues nothing', async (_, type) => {
    const before = await queueDepth(relay);
    const response = await fetch(`${relay.url}/v1/pulls`, {
      method: 'POST',
      headers: type ? { 'content-type': type } : {},
      body: new Blob([JSON.stringify({ image: fixtures['docker-single'].ref })]),
    });
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await queueDepth(relay)).toBe(before);
  });
});

describe('relays with a store of their own', () => {
  it('requesting the same image twice copies each blob once', async () => {
    const fixture = await pushUniqueImage(standIn, 'twice');
    const relay = await startTestRelay(adminEnv);
    try {
      const mark = await log.mark();
      const first = await relay.waitForPull((await relay.postPull({ image: fixture.ref })).body.id);
      const second = await relay.waitForPull((await relay.postPull({ image: fixture.ref })).body.id);
      expect(second.id).not.toBe(first.id);
      expect([first.state, second.state]).toEqual(['done', 'done']);
      for (const layer of fixture.image.layers) expect(await log.blobGets(layer.digest, { since: mark })).toBe(1);
    } finally {
      await relay.stop();
    }
  });

  it('bad worker credentials end the pull failed with DENIED, without retrying forever', async () => {
    const relay = await startTestRelay({ HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.robot.username, HARBOR_PASSWORD: 'wrong-password' });
    try {
      const record = await relay.waitForPull((await relay.postPull({ image: fixtures['docker-single'].ref })).body.id);
      expect(record.state).toBe('failed');
      expect(record.error?.code).toBe('DENIED');
      expect(relay.logs.join('\n')).not.toContain('wrong-password');
    } finally {
      await relay.stop();
    }
  });
});

async function queueDepth(relay: TestRelay): Promise<number> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(relay.dataDir, 'relay.sqlite'), { readOnly: true });
  try {
    const row = db.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

