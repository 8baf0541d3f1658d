import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';

const base = { HARBOR_URL: 'https://harbor.example.com' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base, '/srv/relay');
    expect(config).toMatchObject({
      harbor: { registry: 'harbor.example.com' },
      store: { kind: 'file', dir: '/srv/relay/.relay-data' },
      queue: { kind: 'sqlite', path: '/srv/relay/.relay-data/relay.sqlite' },
      host: '127.0.0.1',
      port: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      urlTtlSeconds: 900,
      auth: 'none',
      maxAttempts: 3,
    });
    expect(config.harbor.credentials).toBeUndefined();
  });

  it('keeps a robot account name with $ and + as it is', () => {
    const config = loadConfig({ ...base, HARBOR_USERNAME: 'robot$team+relay', HARBOR_PASSWORD: 'pa$$ word' });
    expect(config.harbor.credentials).toEqual({ username: 'robot$team+relay', password: 'pa$$ word' });
  });

  it('takes the registry allowlist entry from HARBOR_URL, port included', () => {
    expect(loadConfig({ HARBOR_URL: 'http://127.0.0.1:5000' }).harbor.registry).toBe('127.0.0.1:5000');
  });

  it('reports every problem at once, and never the password', () => {
    let message = '';
    try {
      loadConfig({ HARBOR_URL: 'ftp://x', HARBOR_PASSWORD: 'hunter2-secret', PORT: 'eighty', RELAY_URL_TTL: '-5', RELAY_STORE: 'nfs:/x' });
    } catch (err) {
      expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
      message = (err as Error).message;
    }
    expect(message).toMatch(/HARBOR_URL/);
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/RELAY_URL_TTL/);
    expect(message).not.toContain('hunter2-secret');
  });

  it('refuses half a credential pair, a path in HARBOR_URL and unknown stores', () => {
    expect(() => loadConfig({ ...base, HARBOR_USERNAME: 'alice' })).toThrow(/set both/);
    expect(() => loadConfig({ HARBOR_URL: 'https://h.example.com/harbor' })).toThrow(/only scheme, host and port/);
    expect(() => loadConfig({ ...base, RELAY_STORE: 'nfs:/x' })).toThrow(/neither file:DIR/);
  });

  it('refuses RELAY_AUTH=none on an address other hosts can reach', () => {
    expect(() => loadConfig({ ...base, HOST: '0.0.0.0', RELAY_AUTH: 'none' })).toThrow(/RELAY_AUTH=none is refused/);
    expect(loadConfig({ ...base, HOST: '0.0.0.0' }).auth).toBe('harbor');
    expect(loadConfig({ ...base, HOST: '::1' }).publicUrl).toBe('http://[::1]:8080');
  });
  it('reads RELAY_FOREIGN_HOSTS as host[:port] and refuses metadata and link-local addresses', () => {
    expect(loadConfig(base).harbor.foreignHosts).toBeUndefined();
    expect(loadConfig({ ...base, RELAY_FOREIGN_HOSTS: ' Mirror.Example.com , cdn.example.com:8443 ' }).harbor.foreignHosts)
      .toEqual(['mirror.example.com', 'cdn.example.com:8443']);
    expect(() => loadConfig({ ...base, RELAY_FOREIGN_HOSTS: '169.254.169.254' })).toThrow(/link-local or cloud metadata/);
    expect(() => loadConfig({ ...base, RELAY_FOREIGN_HOSTS: 'https://cdn.example.com/path' })).toThrow(/is not host\[:port\]/);
  });
});
