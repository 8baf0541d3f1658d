/**
 * Who is asking, once the Authorization header has been read. The password of a Harbor caller is
 * kept only to ask Harbor on the caller's behalf; it is never logged (log.ts scrubs `password`).
 */
export type Caller =
  /** RELAY_AUTH=none: nobody is asked who they are (loopback only). */
  | { readonly kind: 'anonymous' }
  /** RELAY_AUTH=harbor: the caller's own Harbor login (a user or a robot account). */
  | { readonly kind: 'harbor'; readonly username: string; readonly password: string }
  /** RELAY_AUTH=token: one of the configured API tokens, by name. */
  | { readonly kind: 'token'; readonly name: string };

/** A Caller as it may appear in logs and messages: a name, never a secret. */
export function describeCaller(caller: Caller): string {
  if (caller.kind === 'harbor') return caller.username;
  if (caller.kind === 'token') return `token "${caller.name}"`;
  return 'anonymous';
}

/**
 * The user and password of an HTTP Basic Authorization value (RFC 7617): base64 of UTF-8
 * `user:password`, split at the first colon — robot names (`robot$team+relay`) hold no colon,
 * passwords may. Undefined when the header is not Basic or does not decode to `user:password`.
 */
export function readBasicCredentials(authorization: string | undefined): { username: string; password: string } | undefined {
  const match = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The credential of a `Bearer` Authorization value (RFC 6750 §2.1), or undefined. */
export function readBearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i.exec(authorization ?? '');
  return match?.[1];
}
