import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pullCount, pushImageAs, randomImage, relayHttp, uniqueRepository } from './relay-http.ts';

const { standIn, fixtures } = useStandIn();
const deployToken = randomBytes(30).toString('base64url');
const otherToken = randomBytes(30).toString('base64url');

describe('RELAY_AUTH=token: static API tokens with repository patterns', () => {
  let relay: TestRelay;
  let http: ReturnType<typeof relayHttp>;
  beforeAll(async () => {
    relay = await startTestRelay({
      HARBOR_URL: standIn.url,
      HARBOR_USERNAME: standIn.users.admin.username,
      HARBOR_PASSWORD: standIn.users.admin.password,
      RELAY_AUTH: 'token',
      RELAY_TOKENS: JSON.stringify([
        { name: 'deploy', token: deployToken, repositories: ['team/*'] },
        { name: 'other-only', token: otherToken, repositories: ['other/**'] },
      ]),
    });
    http = relayHttp(relay.url);
  });
  afterAll(() => relay?.stop());

  it('answers 401 with a Bearer challenge without a token, with a wrong one, or with Basic credentials', async () => {
    const before = pullCount(relay.dataDir);
    for (const authorization of [undefined, `Bearer ${deployToken.slice(0, -1)}x`, `Bearer ${deployToken}x`, `Basic ${Buffer.from(`x:${deployToken}`).toString('base64')}`]) {
      const answer = await http.call('POST', '/v1/pulls', { ...(authorization ? { authorization } : {}), body: { image: fixtures['docker-single'].ref } });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="layer-relay"');
      expect(answer.text).not.toContain(deployToken);
    }
    expect(pullCount(relay.dataDir)).toBe(before);
  });

  it('lets a token pull what its patterns match (202), and answers 403 naming the repository otherwise', async () => {
    const image = await randomImage();
    const teamRef = await pushImageAs(standIn, uniqueRepository('team', 'tok'), image);
    const otherRepository = uniqueRepository('other', 'tok');
    const otherRef = await pushImageAs(standIn, otherRepository, await randomImage());

    const ok = await http.call('POST', '/v1/pulls', { authorization: `Bearer ${deployToken}`, body: { image: teamRef } });
    expect(ok.status).toBe(202);
    const done = await http.waitForPull(ok.json.id, `Bearer ${deployToken}`);
    expect(done.state).toBe('done');

    const denied = await http.call('POST', '/v1/pulls', { authorization: `Bearer ${deployToken}`, body: { image: otherRef } });
    expect(denied.status).toBe(403);
    expect(denied.json.error.message).toContain(`token "deploy" may not pull repository "${otherRepository}"`);

    // `team/*` is one segment deep: a nested repository is not matched.
    const nested = await http.call('POST', '/v1/pulls', { authorization: `Bearer ${deployToken}`, body: { image: `${standIn.host}/team/a/b:1` } });
    expect(nested.status).toBe(403);

    // The other token may not read the team pull's record nor its blob.
    expect((await http.call('GET', `/v1/pulls/${ok.json.id}`, { authorization: `Bearer ${otherToken}` })).status).toBe(403);
    expect((await http.call('GET', `/v1/blobs/${image.layers[0]!.digest}`, { authorization: `Bearer ${otherToken}` })).status).toBe(403);
    expect((await http.call('GET', `/v1/blobs/${image.layers[0]!.digest}`, { authorization: `Bearer ${deployToken}` })).status).toBe(200);
  });
});
