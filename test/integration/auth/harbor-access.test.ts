import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createHarborAccess, DENY_TTL_MS } from '../../../shared/auth/harbor-access.ts';
import { failure } from '../../support/rejection.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createStandInClient, type LogMark } from '../../support/standin-client.ts';
import { uniqueRepository } from './relay-http.ts';

const { standIn } = useStandIn();
const log = createStandInClient(standIn.url);
const { robot, alice, admin } = standIn.users;

/** Token requests the stand-in answered since `mark` that asked for exactly this repository's pull scope. */
async function tokenRequestsFor(repository: string, mark: LogMark): Promise<number> {
  return (await log.requests(mark)).filter((r) => r.path === '/service/token' && r.scopes?.includes(`repository:${repository}:pull`)).length;
}

describe('Harbor-delegated authorization against the Harbor stand-in', () => {
  const clock = { now: Date.now() };
  const access = createHarborAccess({ harborUrl: new URL(standIn.url), now: () => clock.now });

  it('lets a robot account ($ and + in its name) pull its project, and an admin pull any project', async () => {
    const caller = access.authenticate(`Basic ${Buffer.from(`${robot.username}:${robot.password}`).toString('base64')}`);
    expect(caller).toEqual({ kind: 'harbor', username: 'robot$team+relay', password: robot.password });
    await expect(access.requirePull(caller, uniqueRepository('team', 'robot'))).resolves.toBeUndefined();
    await expect(access.requirePull({ kind: 'harbor', ...admin }, uniqueRepository('other', 'admin'))).resolves.toBeUndefined();
  });

  it('answers FORBIDDEN naming the repository when Harbor grants no pull (its 200 with an empty grant)', async () => {
    const repository = uniqueRepository('other', 'secret');
    const mark = await log.mark();
    const err = await failure(access.requirePull({ kind: 'harbor', ...alice }, repository));
    expect(err.code).toBe('FORBIDDEN');
    expect(err.status).toBe(403);
    expect(err.message).toContain(repository);
    expect(err.message).toContain('alice');
    // Harbor really answered 200 to the scoped request: the decision came from the token's access claim.
    const scoped = (await log.requests(mark)).filter((r) => r.scopes?.includes(`repository:${repository}:pull`));
    expect(scoped.map((r) => r.status)).toEqual([200]);
  });

  it('answers UNAUTHENTICATED for a wrong password or an unknown user, though Harbor said 200 to the scoped request', async () => {
    for (const caller of [{ ...alice, password: 'wrong-password' }, { username: 'mallory', password: 'x' }]) {
      const err = await failure(access.requirePull({ kind: 'harbor', ...caller }, uniqueRepository('team', 'wrong')));
      expect(err.code).toBe('UNAUTHENTICATED');
      expect(err.message).not.toContain(caller.password);
    }
  });

  it('caches a yes for at most a minute and a no for at most 10 s, keyed by the password too', async () => {
    const repository = uniqueRepository('team', 'cache');
    const mark = await log.mark();
    const caller = { kind: 'harbor' as const, ...alice };
    await access.requirePull(caller, repository);
    await access.requirePull(caller, repository);
    expect(await tokenRequestsFor(repository, mark)).toBe(1);

    // A changed (here: wrong) password is a different key: asked again, and refused.
    expect((await failure(access.requirePull({ ...caller, password: `${alice.password}-changed` }, repository))).code).toBe('UNAUTHENTICATED');
    expect(await tokenRequestsFor(repository, mark)).toBe(2);

    clock.now += 61_000;
    await access.requirePull(caller, repository);
    expect(await tokenRequestsFor(repository, mark)).toBe(3);

    const denied = uniqueRepository('other', 'nocache');
    const deniedMark = await log.mark();
    for (let i = 0; i < 2; i++) expect((await failure(access.requirePull(caller, denied))).code).toBe('FORBIDDEN');
    expect(await tokenRequestsFor(denied, deniedMark)).toBe(1);
    // A grant just given in Harbor shows within the no's short lifetime.
    clock.now += DENY_TTL_MS + 1;
    expect((await failure(access.requirePull(caller, denied))).code).toBe('FORBIDDEN');
    expect(await tokenRequestsFor(denied, deniedMark)).toBe(2);
  });

  it('asks Harbor once for many identical questions at the same time (a deploy wave)', async () => {
    const repository = uniqueRepository('team', 'wave');
    const mark = await log.mark();
    await Promise.all(Array.from({ length: 20 }, () => access.requirePull({ kind: 'harbor', ...robot }, repository)));
    expect(await tokenRequestsFor(repository, mark)).toBe(1);
  });

  it('refuses a missing, non-Basic or malformed Authorization with 401 and a Basic challenge', () => {
    for (const header of [undefined, '', 'Bearer abc', 'Basic !!!', `Basic ${Buffer.from('no-colon').toString('base64')}`]) {
      let err: unknown;
      try {
        access.authenticate(header);
      } catch (thrown) {
        err = thrown;
      }
      expect(err).toMatchObject({ code: 'UNAUTHENTICATED', details: { challenge: 'Basic realm="layer-relay"' } });
    }
  });

  it('fails closed with a retryable REGISTRY_UNAVAILABLE when Harbor cannot be reached', async () => {
    const port = await closedPort();
    const down = createHarborAccess({ harborUrl: new URL(`http://127.0.0.1:${port}`) });
    const err = await failure(down.requirePull({ kind: 'harbor', ...robot }, 'team/app'));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
