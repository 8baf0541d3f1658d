import { timingSafeEqual } from 'node:crypto';
import { forbidden, forbiddenAny, RELAY_REALM, unauthenticated, type AccessControl } from './access-control.ts';
import type { ApiToken } from './api-tokens.ts';
import { readBearerToken, type Caller } from './caller.ts';
import { sha256 } from './constant-time-equal.ts';
import { parseRepositoryPattern, type RepositoryPattern } from './repository-pattern.ts';

const CHALLENGE = `Bearer realm="${RELAY_REALM}"`;

interface KnownToken {
  readonly name: string;
  readonly digest: Buffer;
  readonly patterns: readonly RepositoryPattern[];
}

/**
 * RELAY_AUTH=token: callers send `Authorization: Bearer <token>`. The presented token is hashed and
 * compared with every configured token's hash in constant time, all of them every time, so neither
 * a match's position nor a prefix shows in the answer time. Only hashes are kept after start.
 */
export function createTokenAccess(tokens: readonly ApiToken[]): AccessControl {
  const known: KnownToken[] = tokens.map((entry) => ({ name: entry.name, digest: sha256(entry.token), patterns: entry.repositories.map(parseRepositoryPattern) }));
  const byName = new Map(known.map((entry) => [entry.name, entry]));
  const mayPull = (caller: Caller, repository: string): boolean => {
    const entry = caller.kind === 'token' ? byName.get(caller.name) : undefined;
    return entry?.patterns.some((pattern) => pattern.matches(repository)) ?? false;
  };

  return {
    mode: 'token',
    challenge: CHALLENGE,
    authenticate(authorization) {
      const presented = readBearerToken(authorization);
      if (presented === undefined) throw unauthenticated('send an API token: Authorization: Bearer <token>', CHALLENGE);
      const digest = sha256(presented);
      let match: KnownToken | undefined;
      for (const entry of known) {
        if (timingSafeEqual(digest, entry.digest)) match = entry;
      }
      if (match === undefined) throw unauthenticated('the API token is not valid', CHALLENGE);
      return { kind: 'token', name: match.name };
    },
    async requirePull(caller: Caller, repository: string) {
      if (!mayPull(caller, repository)) throw forbidden(caller, repository);
    },
    async requirePullOfAny(caller: Caller, repositories: readonly string[]) {
      if (!repositories.some((repository) => mayPull(caller, repository))) throw forbiddenAny(caller);
    },
  };
}
