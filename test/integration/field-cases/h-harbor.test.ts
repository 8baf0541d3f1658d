import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { createStandInClient } from '../../support/standin-client.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createTestClient, failure, layerOf, pushRandomImage, type PushedImage } from './field-case-kit.ts';

/* H. Harbor answers — Harbor's own shapes injected by the proxy, and the stand-in's Harbor-like token service. */

const { standIn, fixtures } = useStandIn();
const amd64 = parsePlatform('linux/amd64');
let proxy: FaultProxy;
let pushed: PushedImage;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  pushed = await pushRandomImage(standIn, 'harbor', [1024]);
});
afterAll(() => proxy.stop());

describe('H. Harbor answers', () => {
  it("H1: Harbor's 404 NOT_FOUND for a missing tag is IMAGE_NOT_FOUND, not retried", async () => {
    proxy.addRule({
      match: { path: `/v2/${pushed.repository}/manifests/v9` },
      action: { type: 'status', status: 404, headers: { 'content-type': 'application/json' }, body: `{"errors":[{"code":"NOT_FOUND","message":"artifact ${pushed.repository}:v9 not found"}]}` },
    });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.resolve(parseImageRef(`${proxy.host}/${pushed.repository}:v9`), amd64));
    expect(err).toMatchObject({ code: 'IMAGE_NOT_FOUND', retryable: false });
    expect(err.message).toContain('NOT_FOUND');
    expect(sleeps).toEqual([]);
    await registry.close();
  });

  it('H2: no pull permission is DENIED after one token refresh, saying denied-or-not-found, without retries', async () => {
    const sleeps: number[] = [];
    const robot = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const mark = await createStandInClient(standIn.url).mark();
    // The robot may pull project `team` only; a repository in another project, and one that does not exist.
    for (const image of [fixtures['docker-single'].ref.replace('/team/', '/private/'), `${standIn.host}/other/does-not-exist:v1`]) {
      const err = await failure(robot.resolve(parseImageRef(image.replace(standIn.host, proxy.host)), amd64));
      expect(err).toMatchObject({ code: 'DENIED', retryable: false });
      expect(err.message).toContain('credentials rejected or no pull permission');
    }
    expect(sleeps).toEqual([]);
    const tokens = (await createStandInClient(standIn.url).requests(mark)).filter((r) => r.path === '/service/token');
    expect(tokens.length).toBeLessThanOrEqual(4); // one refresh per denied request, never a loop
    await robot.close();
  });

  it('H2: a blob under a repository the caller cannot see answers 401 too: DENIED, not retried', async () => {
    const sleeps: number[] = [];
    const robot = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(robot.openBlob(parseImageRef(`${proxy.host}/other/nothing-here:v1`), layerOf(pushed)));
    expect(err).toMatchObject({ code: 'DENIED', retryable: false });
    expect(sleeps).toEqual([]);
    await robot.close();
  });

  it('H3: the token realm names another host than the registry URL used; the token comes from there', async () => {
    const mark = await createStandInClient(standIn.url).mark();
    const before = proxy.requests.length;
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot });
    await registry.resolve(parseImageRef(`${proxy.host}/${pushed.repository}:v1`), amd64);
    await proxy.idle();
    expect(proxy.requests.slice(before).some((r) => r.path === '/service/token')).toBe(false);
    const tokens = (await createStandInClient(standIn.url).requests(mark)).filter((r) => r.path === '/service/token' && r.scopes?.includes(`repository:${pushed.repository}:pull`));
    expect(tokens).toHaveLength(1);
    await registry.close();
  });
});
