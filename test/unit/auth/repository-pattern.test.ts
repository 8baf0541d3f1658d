import { describe, expect, it } from 'vitest';
import { parseRepositoryPattern } from '../../../shared/auth/repository-pattern.ts';

describe('parseRepositoryPattern', () => {
  it.each([
    ['team/app', 'team/app', true],
    ['team/app', 'team/app2', false],
    ['team/app', 'team/ap', false],
    ['team/*', 'team/app', true],
    ['team/*', 'team/app/sub', false],
    ['team/*', 'teamx/app', false],
    ['team/*', 'other/team/app', false],
    ['team/**', 'team/app/sub', true],
    ['team/**', 'team/app', true],
    ['team/**', 'team', false],
    ['**', 'any/thing/at/all', true],
    ['team/app-?', 'team/app-1', true],
    ['team/app-?', 'team/app-12', false],
    ['team/app.v1', 'team/appxv1', false],
    ['*/app', 'team/app', true],
    ['*/app', 'team/sub/app', false],
  ])('%s matches %s: %s', (pattern, repository, expected) => {
    expect(parseRepositoryPattern(pattern).matches(repository)).toBe(expected);
  });

  it.each(['', 'Team/App', 'team/(a|b)', 'team/app$', 'team/[ab]', 'x'.repeat(256)])('refuses the pattern %j', (pattern) => {
    expect(() => parseRepositoryPattern(pattern)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
