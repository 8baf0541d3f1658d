import { Agent, request, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redactUrl } from '../redact.ts';
import { readCapped } from '../registry/read-capped.ts';
import { pickChallenge } from '../registry/www-authenticate.ts';
import { forbidden, forbiddenAny, RELAY_REALM, unauthenticated, type AccessControl } from './access-control.ts';
import { AllowCache } from './allow-cache.ts';
import { readBasicCredentials, type Caller } from './caller.ts';
import { tokenGrantsPull } from './token-grants-pull.ts';

const CHALLENGE = `Basic realm="${RELAY_REALM}"`;
/** Token answers are small JWTs; more than 1 MiB is a broken or hostile service. */
const MAX_TOKEN_BODY_BYTES = 1024 * 1024;
/**
 * A caller waits on this check: Harbor answers token requests in milliseconds, 3 s means it is down.
 * Up to three requests run in sequence (realm, token, credentials check), so 3 s each stays inside
 * the api/status Lambda's 10 s timeout and the caller gets REGISTRY_UNAVAILABLE, not API Gateway's 503.
 */
const HARBOR_TIMEOUT_MS = 3_000;

/** How long a "no" is trusted: brief, so a grant just given in Harbor shows quickly, yet a burst of lookups asks once. */
export const DENY_TTL_MS = 10_000;
/** Scopes asked in one token request (distribution's token spec allows several `scope` parameters; Harbor honours them). */
export const SCOPES_PER_TOKEN_REQUEST = 16;

/** Options for {@link createHarborAccess}. */
export interface HarborAccessOptions {
  /** HARBOR_URL's origin. */
  harborUrl: URL;
  dispatcher?: Dispatcher;
  /** How long a yes is trusted; capped at one minute. */
  allowTtlMs?: number;
  now?: () => number;
  log?: Logger;
}

type Realm = { realm: URL; service: string | undefined };

/**
 * RELAY_AUTH=harbor: callers send their own Harbor login (Basic; robot accounts included) and
 * Harbor decides. To know whether a caller may pull one of some repositories:
 * 1. a cached yes for any (username, password, repository) answers at once; repositories with a
 *    cached no (≤ 10 s) are not asked again;
 * 2. the token realm is learned from Harbor's `/v2/` challenge (once; again after a failure);
 * 3. one token request with the caller's credentials asks `repository:<repo>:pull` for up to
 *    16 repositories at once;
 * 4. the token's `access` claim must grant pull on a repository — Harbor answers wrong credentials
 *    with 200 and an empty grant, so the status alone proves nothing;
 * 5. no grant at all: the realm is asked once without a scope, where Harbor does answer wrong
 *    credentials with 401 — so the caller learns "who are you?" (401) apart from "not yours" (403);
 *    credentials found good are remembered like a yes, so this costs one request per minute.
 * Yes (≤ 60 s) and no (≤ 10 s) are cached under HMAC keys (AllowCache); concurrent identical
 * questions share one round trip. A token request rather than a manifest HEAD: it asks Harbor's
 * permission model directly, needs no tag or digest to exist yet, and covers many repositories at once.
 */
export function createHarborAccess(options: HarborAccessOptions): AccessControl {
  const dispatcher = options.dispatcher ?? new Agent({ connectTimeout: HARBOR_TIMEOUT_MS, headersTimeout: HARBOR_TIMEOUT_MS, bodyTimeout: HARBOR_TIMEOUT_MS });
  const clock = options.now ? { now: options.now } : {};
  const allowed = new AllowCache({ ...(options.allowTtlMs === undefined ? {} : { ttlMs: options.allowTtlMs }), ...clock });
  const denied = new AllowCache({ ttlMs: DENY_TTL_MS, ...clock });
  const accepted = new AllowCache({ ...(options.allowTtlMs === undefined ? {} : { ttlMs: options.allowTtlMs }), ...clock });
  const inflight = new Map<string, Promise<boolean>>();
  const registry = options.harborUrl.host;
  let realm: Promise<Realm> | undefined;

  const learnRealm = (): Promise<Realm> => {
    if (realm === undefined) {
      const pending = fetchRealm(options.harborUrl, dispatcher);
      realm = pending;
      pending.catch(() => {
        if (realm === pending) realm = undefined;
      });
    }
    return realm;
  };

  /** 2.–5. for repositories with no cached answer: true when Harbor grants pull on one of them. */
  const ask = async (username: string, password: string, repositories: readonly string[]): Promise<boolean> => {
    const where = await learnRealm();
    const basic = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    const refused: string[] = [];
    for (let i = 0; i < repositories.length; i += SCOPES_PER_TOKEN_REQUEST) {
      const batch = repositories.slice(i, i + SCOPES_PER_TOKEN_REQUEST);
      const answer = await fetchToken(where, basic, batch.map((repository) => `repository:${repository}:pull`), dispatcher, registry);
      if (answer.kind === 'rejected') throw unauthenticated('Harbor rejected these credentials', CHALLENGE);
      const granted = answer.kind === 'token' ? batch.filter((repository) => tokenGrantsPull(answer.token, repository)) : [];
      refused.push(...batch.filter((repository) => !granted.includes(repository)));
      if (granted.length > 0) {
        for (const repository of granted) allowed.allow(allowed.key(username, password, repository));
        for (const repository of refused) denied.allow(denied.key(username, password, repository));
        return true;
      }
    }
    // Only credentials Harbor accepts may have a "no" cached: wrong ones must keep answering 401.
    const credentialsKey = accepted.key(username, password, '');
    if (!accepted.has(credentialsKey)) {
      if ((await fetchToken(where, basic, [], dispatcher, registry)).kind === 'rejected') throw unauthenticated('Harbor rejected these credentials', CHALLENGE);
      accepted.allow(credentialsKey);
    }
    for (const repository of refused) denied.allow(denied.key(username, password, repository));
    return false;
  };

  /** 1. then ask: true when `caller` may pull at least one of `repositories`. */
  const mayPullAny = async (caller: Caller, repositories: readonly string[]): Promise<boolean> => {
    if (caller.kind !== 'harbor') return false;
    const { username, password } = caller;
    if (repositories.some((repository) => allowed.has(allowed.key(username, password, repository)))) return true;
    const open = repositories.filter((repository) => !denied.has(denied.key(username, password, repository)));
    if (open.length === 0) return false;
    const key = allowed.key(username, password, JSON.stringify(open));
    let pending = inflight.get(key);
    if (pending === undefined) {
      pending = ask(username, password, open).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  };

  return {
    mode: 'harbor',
    challenge: CHALLENGE,
    authenticate(authorization) {
      const credentials = readBasicCredentials(authorization);
      if (credentials === undefined) throw unauthenticated('send your Harbor credentials (HTTP Basic; robot accounts work as they are)', CHALLENGE);
      return { kind: 'harbor', ...credentials };
    },
    async requirePull(caller: Caller, repository: string) {
      if (await mayPullAny(caller, [repository])) return;
      if (caller.kind === 'harbor') options.log?.info('pull refused by Harbor', { user: caller.username, repository });
      throw forbidden(caller, repository);
    },
    async requirePullOfAny(caller: Caller, repositories: readonly string[]) {
      if (await mayPullAny(caller, repositories)) return;
      if (caller.kind === 'harbor') options.log?.info('pull refused by Harbor', { user: caller.username, repositories: repositories.length });
      throw forbiddenAny(caller);
    },
  };
}

/** 1) GET /v2/ without credentials; Harbor answers 401 with `Bearer realm=...,service=...`. */
async function fetchRealm(harborUrl: URL, dispatcher: Dispatcher): Promise<Realm> {
  const url = new URL('/v2/', harborUrl);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { dispatcher, method: 'GET', headers: { 'accept-encoding': 'identity' } });
  } catch (err) {
    throw unavailable(harborUrl.host, 'is unreachable', err);
  }
  await response.body.dump().catch(() => undefined);
  const challenge = pickChallenge(response.headers['www-authenticate']);
  if (response.statusCode !== 401 || challenge?.scheme !== 'bearer' || !challenge.params.realm) {
    if (response.statusCode >= 500 || response.statusCode === 429) throw unavailable(harborUrl.host, `answered ${response.statusCode} to GET /v2/`);
    throw new RelayError('REGISTRY_ERROR', `${harborUrl.host} offers no token service (GET /v2/ answered ${response.statusCode}); RELAY_AUTH=harbor needs Harbor's /service/token`, {
      details: { registry: harborUrl.host },
    });
  }
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm);
  } catch {
    throw new RelayError('REGISTRY_ERROR', `${harborUrl.host} named a token realm that is not a URL`, { details: { registry: harborUrl.host } });
  }
  if (realm.protocol !== 'https:' && realm.protocol !== 'http:') {
    throw new RelayError('REGISTRY_ERROR', `${harborUrl.host} named a token realm with scheme ${realm.protocol}`, { details: { registry: harborUrl.host } });
  }
  return { realm, service: challenge.params.service };
}

type TokenAnswer = { kind: 'token'; token: string } | { kind: 'rejected' } | { kind: 'empty' };

/** 3) and 5) One token request with the caller's credentials, for some scopes or none. */
async function fetchToken(where: Realm, basic: string, scopes: readonly string[], dispatcher: Dispatcher, registry: string): Promise<TokenAnswer> {
  const url = new URL(where.realm);
  if (where.service) url.searchParams.set('service', where.service);
  for (const scope of scopes) url.searchParams.append('scope', scope);
  let response: Dispatcher.ResponseData;
  try {
    response = await request(url, { dispatcher, method: 'GET', headers: { authorization: basic, accept: 'application/json' } });
  } catch (err) {
    throw unavailable(registry, `token service ${redactUrl(url)} is unreachable`, err);
  }
  if (response.statusCode === 401 || response.statusCode === 403) {
    await response.body.dump().catch(() => undefined);
    return { kind: 'rejected' };
  }
  if (response.statusCode !== 200) {
    await response.body.dump().catch(() => undefined);
    throw unavailable(registry, `token service answered ${response.statusCode}`);
  }
  const bytes = await readCapped(response.body, MAX_TOKEN_BODY_BYTES).catch((err: unknown) => {
    throw unavailable(registry, 'token service answer was cut off', err);
  });
  const body = parseJson(bytes);
  // The first non-empty of token / access_token: Harbor may send `access_token: ""` (field case G2).
  const token = [body?.token, body?.access_token].find((value): value is string => typeof value === 'string' && value !== '');
  return token === undefined ? { kind: 'empty' } : { kind: 'token', token };
}

function parseJson(bytes: Buffer | undefined): { token?: unknown; access_token?: unknown } | undefined {
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as { token?: unknown; access_token?: unknown } | undefined;
  } catch {
    return undefined;
  }
}

/** Harbor down or throttling: the caller may retry; the 5xx message is generic at the edge, the details are logged. */
function unavailable(registry: string, what: string, cause?: unknown): RelayError {
  return new RelayError('REGISTRY_UNAVAILABLE', `Harbor at ${registry} ${what} while checking a caller's permission`, {
    ...(cause === undefined ? {} : { cause }),
    details: { registry },
  });
}
