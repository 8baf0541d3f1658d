import { z } from 'zod';
import { RelayError } from '../errors.ts';
import { parseRepositoryPattern } from './repository-pattern.ts';

/** Shorter tokens are guessable; 32 characters of a random string is 190+ bits from base64. */
export const MIN_API_TOKEN_LENGTH = 32;

/** One configured API token (RELAY_AUTH=token): a name for logs, the secret, the repositories it may pull. */
export interface ApiToken {
  readonly name: string;
  readonly token: string;
  /** Globs over `project/repo` (see repository-pattern.ts). */
  readonly repositories: readonly string[];
}

const ApiTokensSchema = z
  .array(
    z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'name: 1-64 letters, digits, . _ -'),
      token: z.string().min(MIN_API_TOKEN_LENGTH, `token: at least ${MIN_API_TOKEN_LENGTH} characters`).max(512).regex(/^[A-Za-z0-9\-._~+/]+=*$/, 'token: Bearer token characters only (RFC 6750: letters, digits, - . _ ~ + / and trailing =)'),
      repositories: z.array(z.string()).min(1, 'repositories: at least one pattern, e.g. ["team/*"]'),
    }),
  )
  .min(1, 'at least one token');

/**
 * Parses RELAY_TOKENS (JSON: `[{"name","token","repositories":["team/*"]}]`). Errors name the
 * entry and field, never a token value — JSON.parse's own message quotes the input, so it is
 * replaced.
 */
export function parseApiTokens(json: string, source = 'RELAY_TOKENS'): ApiToken[] {
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch {
    throw new RelayError('CONFIG_INVALID', `${source} is not valid JSON (want [{"name": "...", "token": "...", "repositories": ["team/*"]}])`);
  }
  const parsed = ApiTokensSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${source}[${issue.path.join('.')}]: ${issue.message}`);
    throw new RelayError('CONFIG_INVALID', problems.join('; '));
  }
  const names = new Set<string>();
  const secrets = new Set<string>();
  for (const entry of parsed.data) {
    if (names.has(entry.name)) throw new RelayError('CONFIG_INVALID', `${source}: the name "${entry.name}" is used twice`);
    if (secrets.has(entry.token)) throw new RelayError('CONFIG_INVALID', `${source}: token "${entry.name}" repeats another entry's secret`);
    names.add(entry.name);
    secrets.add(entry.token);
    for (const pattern of entry.repositories) parseRepositoryPattern(pattern);
  }
  return parsed.data;
}
