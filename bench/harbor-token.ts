/** An origin and an account on it (the stand-in's users). */
export interface HarborLogin {
  url: string;
  username: string;
  password: string;
}

/** Harbor names its registry service this in token requests. */
const SERVICE = 'harbor-registry';

/**
 * A registry token the way the script the relay replaces gets one (shared/seed): GET
 * `/service/token?service=harbor-registry&scope=repository:REPO:ACTIONS` with Basic credentials,
 * then `.token` of the JSON answer.
 */
export async function fetchHarborToken(login: HarborLogin, repository: string, actions: string): Promise<string> {
  const url = new URL('/service/token', login.url);
  url.searchParams.set('service', SERVICE);
  url.searchParams.set('scope', `repository:${repository}:${actions}`);
  const basic = Buffer.from(`${login.username}:${login.password}`).toString('base64');
  const response = await fetch(url, { headers: { authorization: `Basic ${basic}` } });
  if (!response.ok) throw new Error(`token request for ${repository} answered ${response.status}`);
  const body = (await response.json()) as { token?: string; access_token?: string };
  const token = body.token || body.access_token;
  if (!token) throw new Error(`token answer for ${repository} has no token`);
  return token;
}
