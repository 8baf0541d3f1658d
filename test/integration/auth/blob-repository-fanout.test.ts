import { describe, expect, it } from 'vitest';
import { requirePullOfAny } from '../../../shared/auth/access-control.ts';
import { createHarborAccess } from '../../../shared/auth/harbor-access.ts';
import { failure } from '../../support/rejection.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createStandInClient, type LogMark } from '../../support/standin-client.ts';
import { uniqueRepository } from './relay-http.ts';

const { standIn } = useStandIn();
const log = createStandInClient(standIn.url);
const { alice } = standIn.users;

async function tokenRequests(mark: LogMark, account: string): Promise<number> {
  return (await log.requests(mark)).filter((r) => r.path === '/service/token' && r.account === account).length;
}

/** A blob record's repositories: 30 alice may not pull, then one she may (as a shared base layer's record looks). */
function sharedBlobRepositories(): string[] {
  const others = Array.from({ length: 30 }, (_, i) => `${standIn.host}/${uniqueRepository('other', `fan${i}`)}`);
  return [...others, `${standIn.host}/${uniqueRepository('team', 'fan')}`];
}

describe('GET /v1/blobs/:digest authorization for a blob copied from many repositories (Harbor mode)', () => {
  it('costs a few Harbor token requests, not two per repository, and a repeat costs none', async () => {
    const access = createHarborAccess({ harborUrl: new URL(standIn.url) });
    const caller = { kind: 'harbor' as const, ...alice };
    const repositories = sharedBlobRepositories();
    const first = await log.mark();
    await requirePullOfAny(access, caller, repositories, 'blob x', standIn.host);
    expect(await tokenRequests(first, alice.username)).toBeLessThanOrEqual(4);
    const again = await log.mark();
    await requirePullOfAny(access, caller, repositories, 'blob x', standIn.host);
    expect(await tokenRequests(again, alice.username)).toBe(0);
  });

  it('a caller who may pull none of them is refused after a few requests, and the refusal is remembered briefly', async () => {
    const access = createHarborAccess({ harborUrl: new URL(standIn.url) });
    const caller = { kind: 'harbor' as const, ...alice };
    const repositories = sharedBlobRepositories().slice(0, 30);
    const first = await log.mark();
    expect((await failure(requirePullOfAny(access, caller, repositories, 'blob x', standIn.host))).code).toBe('FORBIDDEN');
    expect(await tokenRequests(first, alice.username)).toBeLessThanOrEqual(5);
    const again = await log.mark();
    expect((await failure(requirePullOfAny(access, caller, repositories, 'blob x', standIn.host))).code).toBe('FORBIDDEN');
    expect(await tokenRequests(again, alice.username)).toBe(0);
  });

  it('wrong credentials are still told apart (401), whatever the number of repositories', async () => {
    const access = createHarborAccess({ harborUrl: new URL(standIn.url) });
    const err = await failure(requirePullOfAny(access, { kind: 'harbor', username: alice.username, password: 'wrong' }, sharedBlobRepositories(), 'blob x', standIn.host));
    expect(err.code).toBe('UNAUTHENTICATED');
  });
});
