import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { basic, pushImageAs, randomImage, relayHttp, uniqueRepository, type Exchange } from './relay-http.ts';

const { standIn, fixtures } = useStandIn();
const { admin, robot, alice } = standIn.users;
const webhookSecret = `whsec-${randomBytes(16).toString('hex')}`;
const apiToken = randomBytes(30).toString('base64url');
const wrongPassword = `wrong-${randomBytes(6).toString('hex')}`;
const wrongToken = randomBytes(30).toString('base64url');

describe('no secret reaches a log line or a response body, over a full run with failures', () => {
  let harborRelay: TestRelay;
  let tokenRelay: TestRelay;
  const seen: Exchange[] = [];
  const signatures = new Set<string>();

  beforeAll(async () => {
    // The worker pulls as the robot: its password is the relay's own secret, and it cannot pull `other`.
    const base = { HARBOR_URL: standIn.url, HARBOR_USERNAME: robot.username, HARBOR_PASSWORD: robot.password, RELAY_WEBHOOK_SECRET: webhookSecret };
    harborRelay = await startTestRelay({ ...base, RELAY_AUTH: 'harbor' });
    tokenRelay = await startTestRelay({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS: JSON.stringify([{ name: 'deploy', token: apiToken, repositories: ['team/**'] }]) });
    const http = relayHttp(harborRelay.url, seen);
    const tokens = relayHttp(tokenRelay.url, seen);

    // Successes: a pull, its record with signed URLs, blob URLs, a redirect.
    const ok = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image: fixtures['oci-plain'].ref } });
    const done = await http.waitForPull(ok.json.id, basic(robot));
    for (const layer of done.layers) signatures.add(new URL(layer.url!).searchParams.get('sig')!);
    const digest = done.layers[0]!.digest;
    const blob = await http.call('GET', `/v1/blobs/${digest}`, { authorization: basic(alice) });
    signatures.add(new URL(blob.json.url).searchParams.get('sig')!);
    const redirect = await http.call('GET', `/v1/blobs/${digest}?redirect=1`, { authorization: basic(alice) });
    const location = new URL(redirect.headers.get('location')!);
    signatures.add(location.searchParams.get('sig')!);

    // Failures: wrong password, wrong scheme, denied pull, a pull the worker is denied, a missing tag.
    await http.call('POST', '/v1/pulls', { authorization: basic({ ...alice, password: wrongPassword }), body: { image: fixtures['oci-plain'].ref } });
    await http.call('GET', `/v1/blobs/${digest}`, { authorization: basic({ ...robot, password: wrongPassword }) });
    await http.call('GET', `/v1/blobs/${digest}`, { authorization: `Bearer ${apiToken}` });
    const otherRef = await pushImageAs(standIn, uniqueRepository('other', 'leak'), await randomImage());
    await http.call('POST', '/v1/pulls', { authorization: basic(alice), body: { image: otherRef } });
    const deniedToWorker = await http.call('POST', '/v1/pulls', { authorization: basic(admin), body: { image: otherRef } });
    expect((await http.waitForPull(deniedToWorker.json.id, basic(admin))).error?.code).toBe('DENIED');
    const missing = await http.call('POST', '/v1/pulls', { authorization: basic(robot), body: { image: `${standIn.host}/team/docker-single:no-such-tag` } });
    expect((await http.waitForPull(missing.json.id, basic(robot))).error?.code).toBe('IMAGE_NOT_FOUND');

    // Signed URLs tampered with, expired, and used on another key.
    const tampered = new URL(location);
    tampered.searchParams.set('sig', 'A'.repeat(location.searchParams.get('sig')!.length));
    const expired = new URL(location);
    expired.searchParams.set('expires', '1000');
    for (const url of [tampered, expired, new URL(location.href.replace('/objects/blobs/', '/objects/manifests/'))]) {
      const answer = await fetch(url);
      seen.push({ status: answer.status, headers: answer.headers, text: await answer.text(), json: undefined });
    }

    // Webhooks: wrong secret, right secret.
    const event = { type: 'PUSH_ARTIFACT', event_data: { resources: [{ digest: fixtures['oci-plain'].manifestDigest, tag: 'v1' }], repository: { repo_full_name: fixtures['oci-plain'].repository } } };
    await http.call('POST', '/v1/webhooks/harbor', { authorization: `${webhookSecret}-nope`, body: event });
    await http.call('POST', '/v1/webhooks/harbor', { authorization: webhookSecret, body: event });

    // Token mode: a wrong token, a right one.
    await tokens.call('POST', '/v1/pulls', { authorization: `Bearer ${wrongToken}`, body: { image: fixtures['oci-plain'].ref } });
    const tokenPull = await tokens.call('POST', '/v1/pulls', { authorization: `Bearer ${apiToken}`, body: { image: fixtures['oci-plain'].ref } });
    await tokens.waitForPull(tokenPull.json.id, `Bearer ${apiToken}`);
  });
  afterAll(async () => {
    await Promise.all([harborRelay?.stop(), tokenRelay?.stop()]);
  });

  const secrets = () => [
    ...[admin, robot, alice].flatMap((user) => [user.password, basic(user).slice('Basic '.length)]),
    wrongPassword,
    basic({ ...alice, password: wrongPassword }).slice('Basic '.length),
    webhookSecret,
    apiToken,
    wrongToken,
  ];

  it('the run really had failures logged (so the search below searched something)', () => {
    const logs = [...harborRelay.logs, ...tokenRelay.logs].join('\n');
    expect(logs).toContain('DENIED');
    expect(logs).toContain('IMAGE_NOT_FOUND');
    expect(logs).toContain('pull refused by Harbor');
    expect(seen.filter((e) => e.status === 401).length).toBeGreaterThanOrEqual(4);
    expect(seen.filter((e) => e.status === 403).length).toBeGreaterThanOrEqual(3);
    expect(signatures.size).toBeGreaterThan(0);
  });

  it('logs hold no password, Basic credential, API token, webhook secret, registry token or signed query string', () => {
    const logs = [...harborRelay.logs, ...tokenRelay.logs].join('\n');
    for (const secret of secrets()) expect(logs).not.toContain(secret);
    for (const sig of signatures) expect(logs).not.toContain(sig);
    expect(logs).not.toMatch(/sig=/);
    expect(logs).not.toMatch(/Bearer\s+[A-Za-z0-9._~+/-]{8,}/);
    // Registry tokens are JWTs: base64url of `{"` opens the header and the claims.
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });

  it('response bodies hold no password, credential, token or secret; error bodies no signed query string', () => {
    expect(seen.length).toBeGreaterThan(15);
    for (const exchange of seen) {
      for (const secret of secrets()) expect(exchange.text).not.toContain(secret);
      expect(exchange.text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
      if (exchange.status >= 400) expect(exchange.text).not.toContain('sig=');
    }
  });
});
