import { RelayError } from '../errors.ts';

/** What a pattern may contain: Harbor repository characters plus the glob marks `*` and `?`. */
const PATTERN_CHARS = /^[a-z0-9._\-/*?]{1,255}$/;

/** A compiled repository pattern. */
export interface RepositoryPattern {
  readonly source: string;
  matches(repository: string): boolean;
}

/**
 * Compiles a glob over repository paths (`project/repo[/...]`, no registry host): `*` matches
 * within one path segment, `**` across segments, `?` one character other than `/`. So `team/*`
 * grants `team/app` but not `team/app/sub`; `team/**` grants both; `**` grants everything.
 */
export function parseRepositoryPattern(source: string): RepositoryPattern {
  if (!PATTERN_CHARS.test(source)) {
    throw new RelayError('CONFIG_INVALID', `repository pattern "${source.slice(0, 100)}" may hold only lower-case letters, digits, . _ - / and the globs * ** ?`);
  }
  let regex = '';
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '*' && source[i + 1] === '*') {
      regex += '.*';
      i++;
    } else if (char === '*') {
      regex += '[^/]*';
    } else if (char === '?') {
      regex += '[^/]';
    } else {
      regex += char.replace(/[.\-/]/g, (c) => `\\${c}`);
    }
  }
  const compiled = new RegExp(`^${regex}$`);
  return { source, matches: (repository) => compiled.test(repository) };
}
