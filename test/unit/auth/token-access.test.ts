import { describe, expect, it } from 'vitest';
import { parseApiTokens } from '../../../shared/auth/api-tokens.ts';
import { constantTimeEqual } from '../../../shared/auth/constant-time-equal.ts';
import { createTokenAccess } from '../../../shared/auth/token-access.ts';

const deploy = 'dep-'.padEnd(40, 'A');
const ops = 'ops-'.padEnd(40, 'B');
const tokens = parseApiTokens(JSON.stringify([
  { name: 'deploy', token: deploy, repositories: ['team/*'] },
  { name: 'ops', token: ops, repositories: ['ops/**', 'team/tools'] },
]));

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('createTokenAccess', () => {
  const access = createTokenAccess(tokens);

  it('identifies a configured token and refuses any other with a Bearer challenge', () => {
    expect(access.authenticate(`Bearer ${deploy}`)).toEqual({ kind: 'token', name: 'deploy' });
    expect(access.authenticate(`Bearer ${ops}`)).toEqual({ kind: 'token', name: 'ops' });
    for (const header of [undefined, `Bearer ${deploy.slice(0, -1)}`, `Bearer ${deploy}A`, `Basic ${Buffer.from(`x:${deploy}`).toString('base64')}`, deploy]) {
      expect(thrown(() => access.authenticate(header))).toMatchObject({ code: 'UNAUTHENTICATED', details: { challenge: 'Bearer realm="layer-relay"' } });
    }
  });

  it('grants pull by the token\'s repository patterns and names the repository when it does not', async () => {
    const caller = access.authenticate(`Bearer ${ops}`);
    await expect(access.requirePull(caller, 'ops/a/b')).resolves.toBeUndefined();
    await expect(access.requirePull(caller, 'team/tools')).resolves.toBeUndefined();
    await expect(access.requirePull(caller, 'team/app')).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'token "ops" may not pull repository "team/app"' });
    await expect(access.requirePull({ kind: 'anonymous' }, 'team/app')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('parseApiTokens', () => {
  it('never quotes a token in its errors, even for JSON it cannot parse', () => {
    const secret = 'super-secret-value-that-must-not-leak-1234';
    for (const json of [`[{"name":"a","token":"${secret}",}]`, `[{"name":"a","token":"${secret}"}]`, `[{"name":"a b","token":"${secret}","repositories":["team/*"]}]`]) {
      const err = thrown(() => parseApiTokens(json)) as Error;
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
      expect(err.message).not.toContain(secret);
    }
  });

  it.each([
    ['a short token', [{ name: 'a', token: 'short', repositories: ['team/*'] }], /at least 32/],
    ['no repositories', [{ name: 'a', token: deploy, repositories: [] }], /at least one pattern/],
    ['a bad pattern', [{ name: 'a', token: deploy, repositories: ['Team/*'] }], /may hold only/],
    ['a repeated name', [{ name: 'a', token: deploy, repositories: ['x/*'] }, { name: 'a', token: ops, repositories: ['x/*'] }], /used twice/],
    ['a repeated secret', [{ name: 'a', token: deploy, repositories: ['x/*'] }, { name: 'b', token: deploy, repositories: ['x/*'] }], /repeats/],
    ['an unknown key', [{ name: 'a', token: deploy, repositories: ['x/*'], admin: true }], /RELAY_TOKENS/],
    ['an empty list', [], /at least one token/],
  ])('refuses %s', (_, value, message) => {
    expect(() => parseApiTokens(JSON.stringify(value))).toThrow(message);
  });
});

describe('constantTimeEqual', () => {
  it('compares whole values whatever their lengths', () => {
    expect(constantTimeEqual('same', 'same')).toBe(true);
    expect(constantTimeEqual('same', 'sam')).toBe(false);
    expect(constantTimeEqual('', 'x')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
