import { describe, expect, it } from 'vitest';
import { parseTokenRealm } from '../../../shared/registry/token-realm.ts';

const https = new URL('https://harbor.example.com');
const http = new URL('http://harbor.local:8080');

describe('parseTokenRealm (H3: where the registry password may go)', () => {
  it.each([
    ['https://harbor.example.com/service/token', https],
    ['https://harbor-external.example.com:8443/service/token', https],
    ['http://harbor.local:8080/service/token', http],
    ['https://harbor.local/service/token', http],
  ])('accepts %s for a registry at %s', (realm, registryUrl) => {
    expect(parseTokenRealm(realm, registryUrl, 'r').href).toBe(realm);
  });

  it.each([
    ['not a url', https, 'REGISTRY_ERROR'],
    ['ftp://harbor.example.com/token', https, 'REGISTRY_ERROR'],
    ['file:///etc/passwd', http, 'REGISTRY_ERROR'],
    ['http://harbor.example.com/service/token', https, 'REGISTRY_ERROR'],
    ['https://169.254.169.254/latest/api/token', https, 'REDIRECT_REFUSED'],
    ['http://[::ffff:a9fe:a9fe]/token', http, 'REDIRECT_REFUSED'],
    ['http://metadata.google.internal/token', http, 'REDIRECT_REFUSED'],
    ['https://[fd00:ec2::254]/token', https, 'REDIRECT_REFUSED'],
  ])('refuses %s for a registry at %s with %s, not retryable', (realm, registryUrl, code) => {
    expect(() => parseTokenRealm(realm, registryUrl, 'r')).toThrow(expect.objectContaining({ code, retryable: false }));
  });
});
