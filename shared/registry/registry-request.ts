import type { Dispatcher } from 'undici';
import { followRedirects, type FollowedResponse } from './follow-redirects.ts';
import type { RegistryAuth } from './registry-auth.ts';
import type { RegistryErrorContext } from './wire-error.ts';

/** GETs on one registry with its authentication. */
export interface RegistryRequest {
  /**
   * GET `path` on the registry with an Authorization for `repository:<repository>:pull`. Whatever
   * non-redirect answer remains after at most one token refresh is returned, error statuses included.
   */
  get(path: string, repository: string, headers: Readonly<Record<string, string>>, context: RegistryErrorContext): Promise<FollowedResponse>;
}

/** What {@link createRegistryRequest} needs. */
export interface RegistryRequestOptions {
  readonly baseUrl: URL;
  readonly dispatcher: Dispatcher;
  readonly auth: RegistryAuth;
  readonly userAgent: string;
}

/**
 * One authorized GET, numbered as go-containerregistry's transport does it:
 * 1) ping /v2/ once per client (the challenge is cached by RegistryAuth);
 * 2) an Authorization for exactly `repository:<repo>:pull` (field case G4) — a cached token is
 *    replaced shortly before it expires (G1), so every retry and every resume asks auth again;
 * 3) GET, redirects followed by our code without the registry's Authorization off its origin (A1);
 * 4) on a 401 from the registry itself, learn its challenge, drop the token, try once more (G1, H2).
 */
export function createRegistryRequest(options: RegistryRequestOptions): RegistryRequest {
  const { baseUrl, dispatcher, auth, userAgent } = options;
  return {
    async get(path, repository, headers, context) {
      const scopes = [`repository:${repository}:pull`];
      const url = new URL(path, baseUrl);
      const send = (authorization: string | undefined) =>
        followRedirects({ url, dispatcher, headers: { ...headers, 'user-agent': userAgent }, authorization, trustedOrigin: baseUrl.origin, context });
      let grant = await auth.authorize(scopes);
      let answer = await send(grant.authorization);
      if (answer.response.statusCode === 401 && answer.fromRegistry) {
        const challenge = answer.response.headers['www-authenticate'];
        if (auth.challenged(challenge, grant)) {
          await answer.response.body.dump().catch(() => undefined);
          grant = await auth.authorize(scopes);
          answer = await send(grant.authorization);
        }
      }
      return answer;
    },
  };
}
