import { Agent, request, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redactUrl } from '../redact.ts';
import { readCapped } from '../registry/read-capped.ts';
import { pickChallenge } from '../registry/www-authenticate.ts';
import { forbidden, RELAY_REALM, unauthenticated, type AccessControl } from './access-control.ts';
import { AllowCache } from './allow-cache.ts';
import { readBasicCredentials, type Caller } from './caller.ts';
import { tokenGrantsPull } from './token-grants-pull.ts';

const CHALLENGE = `Basic realm="${RELAY_REALM}"`;
/** Token answers are small JWTs; more than 1 MiB is a broken or hostile service. */
const MAX_TOKEN_BODY_BYTES = 1024 * 1024;
/** A caller waits on this check: Harbor answers token requests in milliseconds, 10 s means it is down. */
const HARBOR_TIMEOUT_MS = 10_000;

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
 * Harbor decides. To know whether a caller may pull `repo`:
 * 1. a cached yes for exactly this (username, password, repository) answers at once;
 * 2. the token realm is learned from Harbor's `/v2/` challenge (once; again after a failure);
 * 3. a token for `repository:<repo>:pull` is requested with the caller's credentials;
 * 4. the token's `access` claim must grant pull on exactly that repository — Harbor answers wrong
 *    credentials with 200 and an empty grant, so the status alone proves nothing;
 * 5. no grant: the realm is asked again without a scope, where Harbor does answer wrong credentials
 *    with 401 — so the caller learns "who are you?" (401) apart from "not yours" (403).
 * Only yeses are cached (≤ 60 s); concurrent identical questions share one round trip.
 * A token request rather than a manifest HEAD: it asks Harbor's permission model directly, needs no
 * tag or digest to exist yet, and costs one request.
 */
export function createHarborAccess(options: HarborAccessOptions): AccessControl {
  const dispatcher = options.dispatcher ?? new Agent({ connectTimeout: HARBOR_TIMEOUT_MS, headersTimeout: HARBOR_TIMEOUT_MS, bodyTimeout: HARBOR_TIMEOUT_MS });
  const cache = new AllowCache({ ...(options.allowTtlMs === undefined ? {} : { ttlMs: options.allowTtlMs }), ...(options.now ? { now: options.now } : {}) });
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

  const ask = async (username: string, password: string, repository: string): Promise<boolean> => {
    const where = await learnRealm();
    const basic = `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
    const scoped = await fetchToken(where, basic, `repository:${repository}:pull`, dispatcher, registry);
    if (scoped.kind === 'token' && tokenGrantsPull(scoped.token, repository)) return true;
    if (scoped.kind === 'rejected') throw unauthenticated('Harbor rejected these credentials', CHALLENGE);
    const unscoped = await fetchToken(where, basic, undefined, dispatcher, registry);
    if (unscoped.kind === 'rejected') throw unauthenticated('Harbor rejected these credentials', CHALLENGE);
    return false;
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
      if (caller.kind !== 'harbor') throw forbidden(caller, repository);
      const key = cache.key(caller.username, caller.password, repository);
      if (cache.has(key)) return;
      let pending = inflight.get(key);
      if (pending === undefined) {
        pending = ask(caller.username, caller.password, repository).finally(() => inflight.delete(key));
        inflight.set(key, pending);
      }
      if (await pending) {
        cache.allow(key);
        return;
      }
      options.log?.info('pull refused by Harbor', { user: caller.username, repository });
      throw forbidden(caller, repository);
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

/** 3) and 5) One token request with the caller's credentials, with or without a scope. */
async function fetchToken(where: Realm, basic: string, scope: string | undefined, dispatcher: Dispatcher, registry: string): Promise<TokenAnswer> {
  const url = new URL(where.realm);
  if (where.service) url.searchParams.set('service', where.service);
  if (scope !== undefined) url.searchParams.set('scope', scope);
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
