/**
 * True when a registry token's `access` claim (distribution `docs/spec/auth/jwt.md`: `[{type, name,
 * actions}]`) grants `pull` (or Harbor's `*`) on exactly `repository`. The JWT is decoded, not
 * verified: the relay fetched it itself from the configured Harbor, and verifying protects the
 * registry from forged tokens, not us from our own request. What matters is reading the grant,
 * because Harbor answers wrong credentials with 200 and a token whose access is empty.
 * Anything unreadable (not a JWT, no claim) grants nothing.
 */
export function tokenGrantsPull(token: string, repository: string): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
  } catch {
    return false;
  }
  const access = (claims as { access?: unknown } | null)?.access;
  if (!Array.isArray(access)) return false;
  return access.some((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null) return false;
    const { type, name, actions } = entry as { type?: unknown; name?: unknown; actions?: unknown };
    return type === 'repository' && name === repository && Array.isArray(actions) && (actions.includes('pull') || actions.includes('*'));
  });
}
