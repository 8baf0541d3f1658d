import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { createStandInClient } from '../../support/standin-client.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pullCount, pushImageAs, pushMultiArch, randomImage, relayHttp, uniqueRepository } from '../auth/relay-http.ts';

const { standIn } = useStandIn();
const log = createStandInClient(standIn.url);
const secret = `whsec-${randomBytes(16).toString('hex')}`;
const env = (platforms: string) => ({
  HARBOR_URL: standIn.url,
  HARBOR_USERNAME: standIn.users.admin.username,
  HARBOR_PASSWORD: standIn.users.admin.password,
  RELAY_AUTH: 'harbor',
  RELAY_WEBHOOK_SECRET: secret,
  RELAY_WEBHOOK_PLATFORMS: platforms,
});

type Resource = { digest: string; tag?: string; resource_url?: string };

/** Harbor's Default payload for an event. */
function defaultEvent(type: string, repository: string, resources: Resource[]) {
  const [namespace, ...name] = repository.split('/');
  return {
    type,
    occur_at: Math.floor(Date.now() / 1000),
    operator: 'ci-bot',
    event_data: { resources, repository: { date_created: 1, name: name.join('/'), namespace, repo_full_name: repository, repo_type: 'private' } },
  };
}

/** Harbor's CloudEvents payload (2.8+) for an event. */
function cloudEvent(type: string, repository: string, resources: Resource[]) {
  const [namespace, ...name] = repository.split('/');
  return {
    specversion: '1.0',
    requestid: randomBytes(8).toString('hex'),
    id: randomBytes(8).toString('hex'),
    source: '/projects/2/webhook/policies/1',
    type,
    datacontenttype: 'application/json',
    time: new Date().toISOString(),
    data: { resources, repository: { name: name.join('/'), namespace, repo_full_name: repository, repo_type: 'private' } },
    operator: 'ci-bot',
  };
}

describe('POST /v1/webhooks/harbor', () => {
  let relay: TestRelay;
  let both: TestRelay;
  beforeAll(async () => {
    [relay, both] = await Promise.all([startTestRelay(env('linux/amd64')), startTestRelay(env('linux/amd64, linux/arm64'))]);
  });
  afterAll(async () => {
    await Promise.all([relay?.stop(), both?.stop()]);
  });
  const deliver = (target: TestRelay, body: unknown, authorization: string | null = secret) =>
    relayHttp(target.url).call('POST', '/v1/webhooks/harbor', { ...(authorization === null ? {} : { authorization }), body });

  it('answers 401 to a missing or wrong secret and queues nothing', async () => {
    const image = await randomImage();
    const repository = uniqueRepository('team', 'wh-secret');
    await pushImageAs(standIn, repository, image);
    const event = defaultEvent('PUSH_ARTIFACT', repository, [{ digest: image.digest, tag: 'v1' }]);
    const before = pullCount(relay.dataDir);
    for (const authorization of [null, '', `${secret}x`, secret.slice(0, -1), `Bearer ${secret}`, secret.toUpperCase()]) {
      const answer = await deliver(relay, event, authorization);
      expect(answer.status).toBe(401);
      expect(answer.json.error.code).toBe('UNAUTHENTICATED');
      expect(answer.text).not.toContain(secret);
    }
    expect(pullCount(relay.dataDir)).toBe(before);
  });

  it.each([
    ['Default', 'PUSH_ARTIFACT', defaultEvent],
    ['CloudEvents', 'harbor.artifact.pushed', cloudEvent],
  ] as const)('%s payload: queues a pull of <harbor host>/<repo_full_name>@<digest>, never trusting resource_url', async (_, type, build) => {
    const image = await randomImage();
    const repository = uniqueRepository('team', 'wh-format');
    await pushImageAs(standIn, repository, image, 'rel-1');
    // resource_url names another host: it must be ignored (field case I2).
    const answer = await deliver(relay, build(type, repository, [{ digest: image.digest, tag: 'rel-1', resource_url: `evil.example.com/${repository}:rel-1` }]));
    expect(answer.status).toBe(202);
    expect(answer.json.pulls).toHaveLength(1);
    const [pull] = answer.json.pulls;
    expect(pull).toMatchObject({ image: `${standIn.host}/${repository}@${image.digest}`, platform: 'linux/amd64', queued: true });
    const done = await relayHttp(relay.url).waitForPull(pull.id, `Basic ${Buffer.from(`${standIn.users.admin.username}:${standIn.users.admin.password}`).toString('base64')}`);
    expect(done.state).toBe('done');
    expect(done.manifestDigest).toBe(image.digest);
  });

  it('a multi-arch push (N child events by digest + the index event) copies each wanted platform once, nothing else', async () => {
    for (const [target, wanted] of [[relay, ['amd64']], [both, ['amd64', 'arm64']]] as [TestRelay, string[]][]) {
      const repository = uniqueRepository('team', 'wh-multi');
      const pushed = await pushMultiArch(standIn, repository);
      const mark = await log.mark();
      const before = pullCount(target.dataDir);
      // Harbor's order: children first (tag empty or holding the digest), then the index with its tag.
      const events = [
        defaultEvent('PUSH_ARTIFACT', repository, [{ digest: pushed.amd64.digest, tag: pushed.amd64.digest }]),
        defaultEvent('PUSH_ARTIFACT', repository, [{ digest: pushed.arm64.digest, tag: '' }]),
        defaultEvent('PUSH_ARTIFACT', repository, [{ digest: pushed.attestation.digest }]),
        defaultEvent('PUSH_ARTIFACT', repository, [{ digest: pushed.index.digest, tag: 'v1' }]),
      ];
      const answers = [];
      for (const event of events) answers.push(await deliver(target, event));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
      expect(answers.slice(0, 3).every((a) => a.json.pulls.length === 0 && a.json.skipped.length === 1)).toBe(true);
      const pulls = answers[3]!.json.pulls as { id: string; image: string; platform: string }[];
      expect(pulls.map((p) => p.platform)).toEqual(wanted.map((arch) => `linux/${arch}`));
      expect(pulls.every((p) => p.image === `${standIn.host}/${repository}@${pushed.index.digest}`)).toBe(true);
      const http = relayHttp(target.url);
      const admin = `Basic ${Buffer.from(`${standIn.users.admin.username}:${standIn.users.admin.password}`).toString('base64')}`;
      for (const pull of pulls) expect((await http.waitForPull(pull.id, admin)).state).toBe('done');
      expect(pullCount(target.dataDir) - before).toBe(wanted.length);

      const gets = async (digest: string) => log.blobGets(digest, { since: mark, repository });
      expect(await gets(pushed.amd64.layers[0]!.digest)).toBe(1);
      expect(await gets(pushed.arm64.layers[0]!.digest)).toBe(wanted.includes('arm64') ? 1 : 0);
      expect(await gets(pushed.attestation.layers[0]!.digest)).toBe(0);

      // Harbor redelivers an identical body when it did not see a 2xx in time: no second copy.
      const again = await deliver(target, events[3]);
      expect(again.status).toBe(202);
      expect((again.json.pulls as { queued: boolean }[]).every((p) => !p.queued)).toBe(true);
      expect(pullCount(target.dataDir) - before).toBe(wanted.length);
      expect(await gets(pushed.amd64.layers[0]!.digest)).toBe(1);
    }
  });

  it('a delivery repeated while its pull is in flight returns that pull instead of a new one', async () => {
    const image = await randomImage();
    const repository = uniqueRepository('team', 'wh-redeliver');
    await pushImageAs(standIn, repository, image);
    const event = cloudEvent('harbor.artifact.pushed', repository, [{ digest: image.digest, tag: 'v1' }]);
    const before = pullCount(relay.dataDir);
    const first = await deliver(relay, event);
    const second = await deliver(relay, event);
    expect(first.json.pulls[0].queued).toBe(true);
    expect(second.json.pulls[0].queued).toBe(false);
    // In flight: the active pull; already done and stored: the same pull, finished (the digest-pinned answer).
    expect(second.json.pulls[0].id).toBe(first.json.pulls[0].id);
    expect(pullCount(relay.dataDir)).toBe(before + 1);
  });

  it.each([
    ['PULL_ARTIFACT', defaultEvent],
    ['DELETE_ARTIFACT', defaultEvent],
    ['SCANNING_COMPLETED', defaultEvent],
    ['QUOTA_EXCEED', defaultEvent],
    ['harbor.artifact.pulled', cloudEvent],
    ['harbor.artifact.deleted', cloudEvent],
  ] as const)('acknowledges %s with 200 and queues nothing', async (type, build) => {
    const image = await randomImage();
    const before = pullCount(relay.dataDir);
    const answer = await deliver(relay, build(type, uniqueRepository('team', 'wh-other'), [{ digest: image.digest, tag: 'v1' }]));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ accepted: false, ignored: type });
    expect(pullCount(relay.dataDir)).toBe(before);
  });

  it('answers 400 to a push event it cannot read, and 413 to an oversized one, queuing nothing', async () => {
    const before = pullCount(relay.dataDir);
    const repository = uniqueRepository('team', 'wh-bad');
    const bad: [unknown, string][] = [
      ['not json', 'INVALID_JSON'],
      [{ hello: 'world' }, 'INVALID_REQUEST'],
      [defaultEvent('PUSH_ARTIFACT', repository, []), 'INVALID_REQUEST'],
      [defaultEvent('PUSH_ARTIFACT', repository, [{ digest: 'sha256:not-hex', tag: 'v1' }]), 'INVALID_DIGEST'],
      [defaultEvent('PUSH_ARTIFACT', 'Team/UPPER', [{ digest: `sha256:${'a'.repeat(64)}`, tag: 'v1' }]), 'INVALID_IMAGE_REF'],
    ];
    for (const [body, code] of bad) {
      const answer = await deliver(relay, body);
      expect(answer.status).toBe(400);
      expect(answer.json.error.code).toBe(code);
    }
    const big = await deliver(relay, { ...defaultEvent('PUSH_ARTIFACT', repository, [{ digest: `sha256:${'a'.repeat(64)}`, tag: 'v1' }]), pad: 'x'.repeat(70 * 1024) });
    expect(big.status).toBe(413);
    expect(pullCount(relay.dataDir)).toBe(before);
  });
});
