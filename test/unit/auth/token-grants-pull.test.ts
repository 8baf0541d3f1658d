import { describe, expect, it } from 'vitest';
import { tokenGrantsPull } from '../../../shared/auth/token-grants-pull.ts';

/** An unsigned JWT with these claims: the check decodes, it does not verify. */
const jwt = (claims: unknown) => `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`;

describe('tokenGrantsPull', () => {
  it.each([
    ['pull on the repository', [{ type: 'repository', name: 'team/app', actions: ['pull'] }], true],
    ['pull and push', [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }], true],
    ["Harbor's * for admins", [{ type: 'repository', name: 'team/app', actions: ['*'] }], true],
    ["Harbor's empty grant for wrong credentials", [{ type: 'repository', name: 'team/app', actions: [] }], false],
    ['no access entries', [], false],
    ['push only', [{ type: 'repository', name: 'team/app', actions: ['push'] }], false],
    ['pull on another repository', [{ type: 'repository', name: 'team/app2', actions: ['pull'] }], false],
    ['a prefix of the repository', [{ type: 'repository', name: 'team', actions: ['pull'] }], false],
    ['another resource type', [{ type: 'registry', name: 'team/app', actions: ['pull'] }], false],
    ['actions that are not a list', [{ type: 'repository', name: 'team/app', actions: 'pull' }], false],
  ])('%s → %s', (_, access, expected) => {
    expect(tokenGrantsPull(jwt({ iss: 'harbor-token-issuer', access }), 'team/app')).toBe(expected);
  });

  it.each([
    ['an opaque token', 'abcdef'],
    ['claims that are not JSON', `a.${Buffer.from('not json').toString('base64url')}.c`],
    ['claims without access', jwt({ sub: 'alice' })],
    ['null claims', jwt(null)],
  ])('grants nothing for %s', (_, token) => {
    expect(tokenGrantsPull(token, 'team/app')).toBe(false);
  });
});
