import { RelayError } from '../errors.ts';
import { describeCaller, type Caller } from './caller.ts';

/** How callers prove who they are (design.md §6). */
export type AuthMode = 'none' | 'harbor' | 'token';

/** The relay's realm in `WWW-Authenticate` challenges. */
export const RELAY_REALM = 'layer-relay';

/**
 * Who may do what: one implementation per RELAY_AUTH mode. Repositories are named as Harbor
 * names them, without the registry host (`team/app`): the relay serves one registry only.
 */
export interface AccessControl {
  readonly mode: AuthMode;
  /** The `WWW-Authenticate` value sent with every 401, telling clients which scheme to use. */
  readonly challenge: string;
  /** The caller behind an Authorization header; throws UNAUTHENTICATED when there is none or it is unusable. */
  authenticate(authorization: string | undefined): Caller;
  /** Resolves when `caller` may pull `repository`; throws FORBIDDEN, or UNAUTHENTICATED for credentials found wrong. */
  requirePull(caller: Caller, repository: string): Promise<void>;
  /** Resolves when `caller` may pull at least one of `repositories`; throws as requirePull, FORBIDDEN naming none of them. */
  requirePullOfAny(caller: Caller, repositories: readonly string[]): Promise<void>;
}

/**
 * A blob copied from very many repositories (a shared base layer) is checked against this many of
 * them at most, so one lookup by digest costs Harbor a bounded number of token requests (16 per
 * request): the caller reaches it through the first ones recorded, or through a pull record.
 */
export const MAX_REPOSITORIES_CHECKED = 64;

/** A 401 carrying the challenge http-errors.ts puts in `WWW-Authenticate`. */
export function unauthenticated(message: string, challenge: string): RelayError {
  return new RelayError('UNAUTHENTICATED', message, { details: { challenge } });
}

/** A 403 that names the repository, so a person knows which permission to ask for. */
export function forbidden(caller: Caller, repository: string): RelayError {
  return new RelayError('FORBIDDEN', `${describeCaller(caller)} may not pull repository "${repository}"`, { details: { repository } });
}

/** The 403 of a lookup by digest: the repositories are not named (the caller may not know they exist, and need not learn it here). */
export function forbiddenAny(caller: Caller, subject = 'this blob'): RelayError {
  return new RelayError('FORBIDDEN', `${describeCaller(caller)} may not pull any repository that holds ${subject}`);
}

/**
 * Resolves when `caller` may pull at least one of `repositories` (`registry/repository` names, as
 * BlobRecord keeps them). With `registry` given, entries of other registries count for nothing.
 * Used for lookups by digest: a blob is reachable through any repository it was copied from, and
 * only so; a blob with no recorded repository is reachable by nobody (except with RELAY_AUTH=none).
 * Candidates are deduplicated and capped ({@link MAX_REPOSITORIES_CHECKED}), and the access mode
 * decides them together (Harbor: cached answers first, then several scopes per token request).
 */
export async function requirePullOfAny(access: AccessControl, caller: Caller, repositories: readonly string[], subject: string, registry?: string): Promise<void> {
  if (access.mode === 'none') return;
  const names = new Set<string>();
  for (const name of repositories) {
    const slash = name.indexOf('/');
    if (slash <= 0 || (registry !== undefined && name.slice(0, slash) !== registry)) continue;
    names.add(name.slice(slash + 1));
    if (names.size >= MAX_REPOSITORIES_CHECKED) break;
  }
  if (names.size === 0) throw forbiddenAny(caller, subject);
  try {
    await access.requirePullOfAny(caller, [...names]);
  } catch (err) {
    if (err instanceof RelayError && err.code === 'FORBIDDEN') throw forbiddenAny(caller, subject);
    throw err;
  }
}
