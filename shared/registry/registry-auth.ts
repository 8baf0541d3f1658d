import { request, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import { parseTokenRealm } from './token-realm.ts';
import { basicAuthorization, createTokenSource, type Credentials, type TokenSource } from './token-source.ts';
import { pickChallenge, type Challenge } from './www-authenticate.ts';
import { networkError, readWireErrors, registryError } from './wire-error.ts';

/**
 * How to authenticate to one registry, learned the way docker does it (go-containerregistry
 * `transport.go`): 1) ping GET /v2/; 2) 200 → anonymous; 401 → answer its challenge:
 * Basic → send the credentials directly; Bearer → a token for exactly the scopes needed, from a
 * realm checked first (token-realm.ts: http(s), no clear text for an https registry, no metadata host).
 * The challenge is learned once per registry and relearned from any later 401.
 */

/** An Authorization to send, and the way to give it up after a 401. */
export interface Grant {
  /** The header value, or undefined for anonymous. */
  readonly authorization: string | undefined;
  /** Forgets the token behind this grant, so the next authorize fetches a fresh one. */
  revoke(): void;
}

/** The authentication state of one registry. */
export interface RegistryAuth {
  /** An Authorization for `scopes` (cached token, fresh token, Basic, or anonymous). */
  authorize(scopes: readonly string[]): Promise<Grant>;
  /**
   * Learns from a 401's WWW-Authenticate after `grant` was refused. True when another try with a
   * new grant can succeed (a Bearer challenge: fresh token; Basic not yet sent); false when not.
   */
  challenged(wwwAuthenticate: string | string[] | undefined, grant: Grant): boolean;
}

/** Options for {@link createRegistryAuth}. */
export interface RegistryAuthOptions {
  readonly baseUrl: URL;
  readonly registry: string;
  readonly dispatcher: Dispatcher;
  readonly credentials?: Credentials | undefined;
  readonly userAgent?: string | undefined;
  readonly tokens?: TokenSource | undefined;
}

type Scheme = { kind: 'anonymous' } | { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

const ANONYMOUS: Grant = { authorization: undefined, revoke: () => undefined };

/** The authentication state for the registry at `baseUrl`. */
export function createRegistryAuth(options: RegistryAuthOptions): RegistryAuth {
  const tokens =
    options.tokens ??
    createTokenSource({ dispatcher: options.dispatcher, registry: options.registry, credentials: options.credentials, userAgent: options.userAgent });
  let scheme: Promise<Scheme> | undefined;

  // Any 401 can name a realm, even one mid-pull: each is checked before a credential goes there.
  const learn = (challenge: Challenge | undefined): Scheme | undefined => {
    if (challenge?.scheme === 'bearer' && challenge.params.realm) {
      const realm = parseTokenRealm(challenge.params.realm, options.baseUrl, options.registry);
      return { kind: 'bearer', realm: realm.href, service: challenge.params.service };
    }
    if (challenge?.scheme === 'basic') return { kind: 'basic' };
    return undefined;
  };

  const ping = async (): Promise<Scheme> => {
    const url = new URL('/v2/', options.baseUrl);
    const context = { operation: 'ping', registry: options.registry, url } as const;
    const headers: Record<string, string> = { 'accept-encoding': 'identity' };
    if (options.userAgent) headers['user-agent'] = options.userAgent;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { dispatcher: options.dispatcher, method: 'GET', headers });
    } catch (err) {
      throw networkError(err, context);
    }
    const errors = await readWireErrors(response.body);
    if (response.statusCode === 200) return { kind: 'anonymous' };
    if (response.statusCode === 401) {
      const learned = learn(pickChallenge(response.headers['www-authenticate']));
      if (learned) return learned;
      throw new RelayError('REGISTRY_ERROR', `${options.registry} answered 401 to GET /v2/ without a Bearer or Basic challenge`, {
        details: { registry: options.registry },
      });
    }
    throw registryError(response.statusCode, errors, { ...context, retryAfter: response.headers['retry-after'] });
  };

  return {
    async authorize(scopes) {
      if (scheme === undefined) {
        const pending = ping();
        scheme = pending;
        pending.catch(() => {
          if (scheme === pending) scheme = undefined; // a failed ping is tried again next time
        });
      }
      const current = await scheme;
      if (current.kind === 'anonymous') return ANONYMOUS;
      if (current.kind === 'basic') {
        return options.credentials ? { authorization: basicAuthorization(options.credentials), revoke: () => undefined } : ANONYMOUS;
      }
      const req = { realm: current.realm, service: current.service, scopes };
      const token = await tokens.token(req);
      return { authorization: `Bearer ${token}`, revoke: () => tokens.invalidate(req, token) };
    },
    challenged(wwwAuthenticate, grant) {
      grant.revoke();
      const learned = learn(pickChallenge(wwwAuthenticate));
      if (learned === undefined) return false;
      scheme = Promise.resolve(learned);
      if (learned.kind === 'bearer') return true;
      return options.credentials !== undefined && grant.authorization === undefined;
    },
  };
}
