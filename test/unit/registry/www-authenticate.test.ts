import { describe, expect, it } from 'vitest';
import { parseChallenge, parseChallenges, pickChallenge } from '../../../shared/registry/www-authenticate.ts';

/** Real header values, as the named registries send them. */
const TABLE: Array<{ name: string; header: string; want: Array<{ scheme: string; params: Record<string, string>; token68?: string }> }> = [
  {
    name: 'distribution (token auth, no scope on /v2/)',
    header: 'Bearer realm="http://127.0.0.1:5001/auth",service="Docker registry"',
    want: [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:5001/auth', service: 'Docker registry' } }],
  },
  {
    name: 'Harbor, scope with a comma inside the quoted value',
    header: 'Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",scope="repository:library/app:pull,push"',
    want: [
      {
        scheme: 'bearer',
        params: { realm: 'https://harbor.example.com/service/token', service: 'harbor-registry', scope: 'repository:library/app:pull,push' },
      },
    ],
  },
  {
    name: 'distribution insufficient_scope with error and two scopes',
    header:
      'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull repository:c/d:pull",error="insufficient_scope"',
    want: [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull repository:c/d:pull', error: 'insufficient_scope' },
      },
    ],
  },
  {
    name: 'unquoted realm URL (registry fronts send it; go-containerregistry accepts it)',
    header: 'Bearer realm=https://harbor.example.com/service/token,service=harbor-registry',
    want: [{ scheme: 'bearer', params: { realm: 'https://harbor.example.com/service/token', service: 'harbor-registry' } }],
  },
  {
    name: 'unquoted realm URL with a port and a query, space after the comma, then a quoted scope',
    header: 'Bearer realm=http://10.0.0.5:8080/token?x=1, service=registry, scope="repository:a/b:pull,push"',
    want: [{ scheme: 'bearer', params: { realm: 'http://10.0.0.5:8080/token?x=1', service: 'registry', scope: 'repository:a/b:pull,push' } }],
  },
  {
    name: 'unquoted realm URL, then a second challenge',
    header: 'Bearer realm=https://auth.example/token,service=reg, Basic realm=registry',
    want: [
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'reg' } },
      { scheme: 'basic', params: { realm: 'registry' } },
    ],
  },
  {
    name: 'Docker Hub',
    header: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    want: [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }],
  },
  {
    name: 'GHCR',
    header: 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:user/image:pull"',
    want: [{ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:user/image:pull' } }],
  },
  {
    name: 'Basic realm (registry behind htpasswd)',
    header: 'Basic realm="Registry Realm"',
    want: [{ scheme: 'basic', params: { realm: 'Registry Realm' } }],
  },
  {
    name: 'escaped quotes and backslashes in a quoted value',
    header: 'Basic realm="say \\"hi\\", \\\\ ok"',
    want: [{ scheme: 'basic', params: { realm: 'say "hi", \\ ok' } }],
  },
  {
    name: 'scheme and parameter names are case-insensitive; whitespace around =',
    header: 'BEARER Realm = "https://r/t" , Service=svc',
    want: [{ scheme: 'bearer', params: { realm: 'https://r/t', service: 'svc' } }],
  },
  {
    name: 'two challenges in one header (RFC 9110 example shape)',
    header: 'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
    want: [
      { scheme: 'newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
      { scheme: 'basic', params: { realm: 'simple' } },
    ],
  },
  {
    name: 'Bearer then Basic, the comma in scope not splitting',
    header: 'Bearer realm="https://h/service/token",scope="repository:p/r:pull,push", Basic realm="harbor"',
    want: [
      { scheme: 'bearer', params: { realm: 'https://h/service/token', scope: 'repository:p/r:pull,push' } },
      { scheme: 'basic', params: { realm: 'harbor' } },
    ],
  },
  {
    name: 'token68 challenge followed by another',
    header: 'Negotiate YIIBhwYGKwYBBQUCoII=, Basic realm="x"',
    want: [
      { scheme: 'negotiate', params: {}, token68: 'YIIBhwYGKwYBBQUCoII=' },
      { scheme: 'basic', params: { realm: 'x' } },
    ],
  },
  {
    name: 'a bare scheme',
    header: 'Basic',
    want: [{ scheme: 'basic', params: {} }],
  },
  {
    name: 'an unterminated quoted string takes the rest',
    header: 'Bearer realm="https://r/t',
    want: [{ scheme: 'bearer', params: { realm: 'https://r/t' } }],
  },
  { name: 'empty', header: '', want: [] },
];

describe('parseChallenges', () => {
  it.each(TABLE)('$name', ({ header, want }) => {
    expect(parseChallenges(header)).toEqual(want);
  });

  it('joins several WWW-Authenticate fields', () => {
    expect(parseChallenges(['Basic realm="a"', 'Bearer realm="https://b/t"']).map((c) => c.scheme)).toEqual(['basic', 'bearer']);
  });

  it('never throws or loops on garbage', () => {
    for (const junk of ['"', '=', ',,,', '@@@ realm', 'Bearer ="x"', 'Bearer realm=', '\\', 'a=b=c']) {
      expect(() => parseChallenges(junk)).not.toThrow();
    }
  });
});

describe('parseChallenge / pickChallenge', () => {
  it('parseChallenge returns the first challenge', () => {
    expect(parseChallenge('Basic realm="a", Bearer realm="b"')?.scheme).toBe('basic');
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('pickChallenge prefers Bearer over Basic and ignores unknown schemes', () => {
    expect(pickChallenge('Basic realm="a", Bearer realm="https://b/t"')?.params.realm).toBe('https://b/t');
    expect(pickChallenge('Negotiate abc, Basic realm="a"')?.scheme).toBe('basic');
    expect(pickChallenge('Negotiate abc')).toBeUndefined();
  });
});
