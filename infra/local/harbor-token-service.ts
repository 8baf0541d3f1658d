import type { IncomingMessage, ServerResponse } from 'node:http';
import { allowedActions, identifyCaller, type Caller, type StandInUsers } from './harbor-users.ts';
import type { TokenAccess, TokenSigner } from './token-signer.ts';

/** What the request log keeps about a token request: the scopes asked and who asked, never a password. */
export interface TokenRequestInfo {
  status: number;
  scopes: string[];
  account?: string;
}

/** Options of {@link createHarborTokenService}. */
export interface HarborTokenServiceOptions {
  signer: TokenSigner;
  users: StandInUsers;
  /** The `service` the registry expects as `aud`. */
  service: string;
  tokenTtlSeconds: number;
}

/**
 * Harbor's `/service/token` (core/service/token): GET with optional Basic credentials, a `service`,
 * and zero or more `scope` parameters. Harbor's quirks are kept on purpose:
 * wrong credentials WITH a scope get 200 and a token that grants nothing; without a scope, 401.
 */
export function createHarborTokenService(options: HarborTokenServiceOptions) {
  return function handleTokenRequest(req: IncomingMessage, res: ServerResponse, url: URL): TokenRequestInfo {
    const scopes = url.searchParams.getAll('scope').flatMap((value) => value.split(' ')).filter(Boolean);
    const caller = identifyCaller(req.headers.authorization, options.users);
    const account = caller.kind === 'user' ? caller.username : undefined;
    if (req.method !== 'GET') return answer(res, 405, { errors: [{ code: 'METHOD_NOT_ALLOWED', message: 'use GET' }] }, scopes, account);
    if (caller.kind === 'invalid' && scopes.length === 0) {
      return answer(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }, scopes, account);
    }
    const access = scopes.flatMap((scope) => grant(caller, scope));
    const token = options.signer.sign({
      subject: account ?? '',
      audience: url.searchParams.get('service') ?? options.service,
      access,
      ttlSeconds: options.tokenTtlSeconds,
    });
    return answer(res, 200, { token, expires_in: options.tokenTtlSeconds, issued_at: new Date().toISOString() }, scopes, account);
  };
}

/** `type:name:actions`; the name sits between the first and the last colon. Unknown shapes grant nothing. */
function grant(caller: Caller, scope: string): TokenAccess[] {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last === first) return [];
  const type = scope.slice(0, first);
  const name = scope.slice(first + 1, last);
  const requested = scope.slice(last + 1).split(',').filter(Boolean);
  if (type === 'registry') {
    const admin = caller.kind === 'user' && caller.role === 'admin';
    return [{ type, name, actions: admin ? requested : [] }];
  }
  if (type !== 'repository') return [];
  const project = name.split('/')[0] ?? '';
  const allowed = allowedActions(caller, project);
  // Harbor keeps the entry and filters its actions: a denied scope is an entry with no actions.
  return [{ type, name, actions: requested.filter((action) => allowed.includes(action)) }];
}

function answer(res: ServerResponse, status: number, body: unknown, scopes: string[], account: string | undefined): TokenRequestInfo {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
  return account === undefined ? { status, scopes } : { status, scopes, account };
}
