import type { StandInUser } from '../../infra/local/harbor-users.ts';
import { ALL_MANIFEST_TYPES } from '../../infra/local/fixtures/media-types.ts';

/** Harbor's token JSON. */
export interface TokenAnswer {
  status: number;
  token?: string;
  expires_in?: number;
  issued_at?: string;
  /** The decoded JWT payload when a token came back. */
  claims?: { iss: string; aud: string; sub: string; exp: number; nbf: number; iat: number; jti: string; access: Array<{ type: string; name: string; actions: string[] }> };
}

/**
 * A bare-hands registry client for tests of the stand-in itself (the product has its own client):
 * fetch a token for explicit scopes, then call `/v2/` with it.
 */
export function createRegistrySession(url: string) {
  return {
    async token(user: StandInUser | undefined, scopes: string[]): Promise<TokenAnswer> {
      const tokenUrl = new URL('/service/token', url);
      tokenUrl.searchParams.set('service', 'harbor-registry');
      for (const scope of scopes) tokenUrl.searchParams.append('scope', scope);
      const headers: Record<string, string> = user ? { authorization: `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}` } : {};
      const response = await fetch(tokenUrl, { headers });
      if (response.status !== 200) {
        await response.body?.cancel();
        return { status: response.status };
      }
      const body = (await response.json()) as { token: string; expires_in: number; issued_at: string };
      const claims = JSON.parse(Buffer.from(body.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as TokenAnswer['claims'];
      return { status: 200, ...body, ...(claims ? { claims } : {}) };
    },
    /** GET (or another method) on the registry API with a bearer token and every manifest type accepted. */
    get(path: string, token: string | undefined, init: RequestInit = {}): Promise<Response> {
      const headers = new Headers(init.headers);
      if (token) headers.set('authorization', `Bearer ${token}`);
      if (!headers.has('accept')) headers.set('accept', ALL_MANIFEST_TYPES.join(', '));
      headers.set('accept-encoding', 'identity');
      return fetch(new URL(path, url), { ...init, headers });
    },
  };
}
