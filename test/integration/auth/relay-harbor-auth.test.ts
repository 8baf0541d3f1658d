import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { basic, pullCount, pushImageAs, randomImage, relayHttp, uniqueRepository } from './relay-http.ts';

const { standIn, fixtures } = useStandIn();
const { admin, robot, alice } = standIn.users;

describe('RELAY_AUTH=harbor: the local relay over HTTP, Harbor deciding who may pull', () => {
  let relay: TestRelay;
  let http: ReturnType<typeof relayHttp>;
  /** An image only project `other` holds, and the same bytes pushed later to `team`. */
  let secret: { otherRef: string; otherRepository: string; teamRef: string; layer: string; pullId: string };
  /** A layer stored from a team image, for the routes that need one. */
  let teamLayer: string;

  beforeAll(async () => {
    relay = await startTestRelay({ HARBOR_URL: standIn.url, HARBOR_USERNAME: admin.username, HARBOR_PASSWORD: admin.password, RELAY_AUTH: 'harbor' });
    http = relayHttp(relay.url);
    const image = await randomImage();
    const otherRepository = uniqueRepository('other', 'secret');
    const otherRef = await pushImageAs(standIn, otherRepository, image);
    const teamRef = await pushImageAs(standIn, uniqueRepository('team', 'shared'), image);
    const pulled = await http.call('POST', '/v1/pulls', { authorization: basic(admin), body: { image: otherRef } });
    expect(pulled.status).toBe(202);
    const done = await http.waitForPull(pulled.json.id, basic(admin));
    expect(done.state).toBe('done');
    secret = { otherRef, otherRepository, teamRef, layer: image.layers[0]!.digest, pullId: pulled.json.id };
    const team = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image: fixtures['docker-single'].ref } });
    expect((await http.waitForPull(team.json.id, basic(robot))).state).toBe('done');
    teamLayer = fixtures['docker-single'].platforms[0]!.layers[0]!.digest;
  });
  afterAll(() => relay?.stop());

  it('answers 401 with WWW-Authenticate: Basic realm="layer-relay" on every protected route without credentials', async () => {
    const routes: [string, string, unknown?][] = [
      ['POST', '/v1/pulls', { image: fixtures['docker-single'].ref }],
      ['GET', `/v1/pulls/${secret.pullId}`],
      ['GET', `/v1/blobs/${teamLayer}`],
      ['GET', `/v1/blobs/${teamLayer}?redirect=1`],
    ];
    const before = pullCount(relay.dataDir);
    for (const [method, path, body] of routes) {
      for (const authorization of [undefined, 'Bearer some-token', 'Basic not-base64!']) {
        const answer = await http.call(method, path, { ...(authorization ? { authorization } : {}), ...(body ? { body } : {}) });
        expect(answer.status, `${method} ${path} with ${authorization}`).toBe(401);
        expect(answer.headers.get('www-authenticate')).toBe('Basic realm="layer-relay"');
        expect(answer.json.error).toMatchObject({ code: 'UNAUTHENTICATED', requestId: expect.any(String) });
        expect(answer.headers.get('location')).toBeNull();
      }
    }
    expect(pullCount(relay.dataDir)).toBe(before);
    // Open: liveness, the API description, and the signed object URLs (they authenticate by signature).
    expect((await http.call('GET', '/healthz')).status).toBe(200);
    expect((await http.call('GET', '/openapi.json')).status).toBe(200);
    const signed = await http.call('GET', `/v1/blobs/${teamLayer}`, { authorization: basic(robot) });
    expect((await fetch(signed.json.url)).status).toBe(200);
  });

  it('answers 202 to a robot account that may pull the repository, and the pull completes', async () => {
    const ref = await pushImageAs(standIn, uniqueRepository('team', 'robot'), await randomImage());
    const answer = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image: ref } });
    expect(answer.status).toBe(202);
    expect(answer.json.state).toBe('queued');
    expect((await http.waitForPull(answer.json.id, basic(robot))).state).toBe('done');
  });

  it('answers 403 naming the repository when alice asks for a pull of project other, and queues nothing', async () => {
    const before = pullCount(relay.dataDir);
    for (const user of [alice, robot]) {
      const answer = await http.call('POST', '/v1/pulls', { authorization: basic(user), body: { image: secret.otherRef } });
      expect(answer.status).toBe(403);
      expect(answer.json.error.code).toBe('FORBIDDEN');
      expect(answer.json.error.message).toContain(`"${secret.otherRepository}"`);
    }
    expect(pullCount(relay.dataDir)).toBe(before);
  });

  it('answers 403 to alice for the pull record of project other and for a blob only other holds, 200 once team holds it too', async () => {
    const record = await http.call('GET', `/v1/pulls/${secret.pullId}`, { authorization: basic(alice) });
    expect(record.status).toBe(403);
    expect(record.json.error.message).toContain(secret.otherRepository);
    expect(record.text).not.toContain('sig=');
    for (const path of [`/v1/blobs/${secret.layer}`, `/v1/blobs/${secret.layer}?redirect=1`]) {
      const blob = await http.call('GET', path, { authorization: basic(alice) });
      expect(blob.status).toBe(403);
      expect(blob.json.error.code).toBe('FORBIDDEN');
      expect(blob.headers.get('location')).toBeNull();
      expect(blob.text).not.toContain('sig=');
    }
    expect((await http.call('GET', `/v1/blobs/${secret.layer}`, { authorization: basic(admin) })).status).toBe(200);

    // The same bytes pulled through a team repository: the digest is now reachable through it.
    const team = await http.call('POST', '/v1/pulls', { authorization: basic(alice), body: { image: secret.teamRef } });
    expect(team.status).toBe(202);
    expect((await http.waitForPull(team.json.id, basic(alice))).state).toBe('done');
    const now = await http.call('GET', `/v1/blobs/${secret.layer}`, { authorization: basic(alice) });
    expect(now.status).toBe(200);
    expect(now.json.digest).toBe(secret.layer);
  });

  it('answers 401 to a wrong password even right after the right one was accepted (no cache hit)', async () => {
    const ok = await http.call('GET', `/v1/blobs/${teamLayer}`, { authorization: basic(alice) });
    expect(ok.status).toBe(200);
    const wrong = await http.call('GET', `/v1/blobs/${teamLayer}`, { authorization: basic({ ...alice, password: `${alice.password}x` }) });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toBe('Basic realm="layer-relay"');
  });

  it('answers 413 to an oversized body and 400 to an image on a host not configured, queuing nothing', async () => {
    const before = pullCount(relay.dataDir);
    const big = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image: fixtures['docker-single'].ref, pad: 'x'.repeat(70 * 1024) } });
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    for (const image of ['evil.example.com/team/app:1', '169.254.169.254/team/app:1']) {
      const foreign = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image } });
      expect(foreign.status).toBe(400);
      expect(foreign.json.error.code).toBe('REGISTRY_NOT_ALLOWED');
    }
    expect(pullCount(relay.dataDir)).toBe(before);
  });

  it('a signed URL cannot be widened to another key: same signature on another digest, kind or expiry answers 403', async () => {
    const signed = new URL((await http.call('GET', `/v1/blobs/${teamLayer}`, { authorization: basic(robot) })).json.url);
    expect((await fetch(signed)).status).toBe(200);
    const otherDigest = secret.layer.replace('sha256:', '');
    const widened = [
      new URL(`${signed.pathname.replace(/[a-f0-9]{64}$/, otherDigest)}${signed.search}`, signed),
      new URL(`${signed.pathname.replace('/objects/blobs/', '/objects/manifests/')}${signed.search}`, signed),
      new URL(`${signed.pathname.replace('/objects/blobs/', '/objects/files/')}${signed.search}`, signed),
    ];
    const later = new URL(signed);
    later.searchParams.set('expires', String(Number(signed.searchParams.get('expires')) + 3600));
    widened.push(later);
    for (const url of widened) {
      expect(url.href).not.toBe(signed.href);
      const answer = await fetch(url);
      expect(answer.status, url.pathname).toBe(403);
      expect(((await answer.json()) as { error: { code: string } }).error.code).toBe('SIGNATURE_INVALID');
    }
  });
});
