/** A login known to the stand-in. */
export interface StandInUser {
  username: string;
  password: string;
}

/** The accounts the stand-in knows; the robot name has Harbor's `$` and `+` so shell-quoting bugs show. */
export interface StandInUsers {
  /** Pull and push everywhere (Harbor's system admin). */
  admin: StandInUser;
  /** A Harbor robot account with pull on project `team` only. */
  robot: StandInUser;
  /** A project member with pull on project `team` only. */
  alice: StandInUser;
}

/** Projects anyone may pull from without credentials (Harbor's "public" project flag). */
export const PUBLIC_PROJECTS: ReadonlySet<string> = new Set(['public']);

/** Fixed test accounts: tests need known credentials, and nothing here guards real data. */
export const STANDIN_USERS: StandInUsers = {
  admin: { username: 'admin', password: 'Harbor12345' },
  robot: { username: 'robot$team+relay', password: 'robot-secret-Xy9' },
  alice: { username: 'alice', password: 'alice-password-1' },
};

/** Who asked: a known user, nobody, or someone whose credentials were wrong. */
export type Caller = { kind: 'user'; role: keyof StandInUsers; username: string } | { kind: 'anonymous' } | { kind: 'invalid' };

/** Harbor's decision per project: admin gets everything, members pull their project, everyone pulls public ones. */
export function allowedActions(caller: Caller, project: string): string[] {
  if (caller.kind === 'invalid') return [];
  if (caller.kind === 'user' && caller.role === 'admin') return ['pull', 'push', 'delete', '*'];
  if (caller.kind === 'user' && project === 'team') return ['pull'];
  if (PUBLIC_PROJECTS.has(project)) return ['pull'];
  return [];
}

/** Matches a Basic `Authorization` header against the users; missing header → anonymous. */
export function identifyCaller(authorization: string | undefined, users: StandInUsers): Caller {
  if (!authorization) return { kind: 'anonymous' };
  const match = /^Basic\s+(\S+)$/i.exec(authorization);
  if (!match) return { kind: 'invalid' };
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { kind: 'invalid' };
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  for (const role of Object.keys(users) as (keyof StandInUsers)[]) {
    if (users[role].username === username && users[role].password === password) return { kind: 'user', role, username };
  }
  return { kind: 'invalid' };
}
