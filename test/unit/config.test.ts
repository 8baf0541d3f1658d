import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { parseImageRef } from '../../shared/image-ref.ts';

/** The problems of the CONFIG_INVALID error loadConfig throws, or [] when it does not. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/relay');
    return [];
  } catch (err) {
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    return (err as { details: { problems: string[] } }).details.problems;
  }
}

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

  it.each([
    ['http://127.0.0.1:5000', '127.0.0.1:5000'],
    ['https://harbor.example.com:443', 'harbor.example.com'],
    ['https://Harbor.Example.com', 'harbor.example.com'],
    ['http://harbor.example.com:80', 'harbor.example.com'],
    ['http://harbor.example.com:443', 'harbor.example.com'],
    ['https://harbor.example.com:8443', 'harbor.example.com:8443'],
  ])('takes the registry allowlist entry from HARBOR_URL %s as %s, as image references name it', (url, registry) => {
    const config = loadConfig({ HARBOR_URL: url });
    expect(config.harbor.registry).toBe(registry);
    expect(parseImageRef(`${url.replace(/^https?:\/\//, '')}/team/app`).registry).toBe(registry);
  });

  it('accepts image references with or without the default port of HARBOR_URL', () => {
    for (const url of ['https://harbor.example.com', 'https://harbor.example.com:443']) {
      const { registry } = loadConfig({ HARBOR_URL: url }).harbor;
      expect(parseImageRef('harbor.example.com/team/app:v1').registry).toBe(registry);
      expect(parseImageRef('harbor.example.com:443/team/app:v1').registry).toBe(registry);
    }
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

  it.each([
    ['a bad PORT, half a credential pair and an unknown store', { ...base, PORT: 'abc', HARBOR_USERNAME: 'x', RELAY_STORE: 'bogus' }, [/^PORT must be an integer 0–65535/, /set both/, /neither file:DIR/]],
    ['a short webhook secret and a platform without an architecture', { ...base, RELAY_WEBHOOK_SECRET: 'short', RELAY_WEBHOOK_PLATFORMS: 'linux' }, [/^RELAY_WEBHOOK_SECRET must be at least 16 characters/, /^RELAY_WEBHOOK_PLATFORMS:/]],
    ['no HARBOR_URL and a bad queue', { RELAY_QUEUE: 'redis://x', LOG_LEVEL: 'loud' }, [/^HARBOR_URL: required/, /^RELAY_QUEUE:/, /^LOG_LEVEL must be debug, info, warn or error/]],
    ['a bad HARBOR_URL and a bad TTL', { HARBOR_URL: 'ftp://x', RELAY_URL_TTL: '0', RELAY_AUTH: 'token' }, [/^HARBOR_URL must be an http\(s\) URL/, /^RELAY_URL_TTL must be an integer 1–604800/, /RELAY_AUTH=token needs RELAY_TOKENS/]],
  ])('reports every problem at once even when some values do not parse: %s', (_, env, expected) => {
    const problems = problemsOf(env);
    for (const pattern of expected) expect(problems).toContainEqual(expect.stringMatching(pattern));
    expect(problems).toHaveLength(expected.length);
  });

  it.each(['0x1F90', ' 8081', '8081 ', '1e3', '80.0', '+80', '-1', '65536', '８０', 'eighty'])('refuses PORT=%j: an integer 0–65535 in decimal digits only', (value) => {
    expect(problemsOf({ ...base, PORT: value })).toEqual([`PORT must be an integer 0–65535, not ${JSON.stringify(value)}`]);
  });

  it.each([['0', 0], ['65535', 65535], ['8081', 8081]])('reads PORT=%j as %d', (value, port) => {
    expect(loadConfig({ ...base, PORT: value }).port).toBe(port);
  });

  it.each([
    ['RELAY_URL_TTL', '1.5', /^RELAY_URL_TTL must be an integer 1–604800 \(seconds; 7 days is the S3 presigned URL limit\), not "1.5"$/],
    ['RELAY_MAX_ATTEMPTS', '0', /^RELAY_MAX_ATTEMPTS must be an integer 1–100, not "0"$/],
    ['RELAY_MAX_BLOB_BYTES', '10GB', /^RELAY_MAX_BLOB_BYTES must be an integer ≥ 1 \(bytes\), not "10GB"$/],
  ])('refuses %s=%j with a message that says what fits', (name, value, message) => {
    expect(problemsOf({ ...base, [name]: value })).toEqual([expect.stringMatching(message)]);
  });

  it.each(['0.0.0.0', '::', '0:0:0:0:0:0:0:0', '0'])('refuses HOST=%s without RELAY_PUBLIC_URL: signed URLs would name an address no host can use', (host) => {
    expect(problemsOf({ ...base, HOST: host })).toContainEqual(expect.stringMatching(/set RELAY_PUBLIC_URL to the URL hosts use to reach this relay/));
  });

  it('signs with RELAY_PUBLIC_URL when listening on every interface', () => {
    expect(loadConfig({ ...base, HOST: '0.0.0.0', RELAY_PUBLIC_URL: 'http://relay.example.com:8080/' }).publicUrl).toBe('http://relay.example.com:8080');
    expect(loadConfig({ ...base, HOST: '10.0.0.5' }).publicUrl).toBe('http://10.0.0.5:8080');
  });

  it('needs no RELAY_PUBLIC_URL on every interface with an s3:// store: S3 signs the URLs', () => {
    expect(loadConfig({ ...base, HOST: '::', RELAY_STORE: 's3://relay-bucket', AWS_REGION: 'us-east-1' }).host).toBe('::');
  });

  it('refuses half a credential pair, a path in HARBOR_URL and unknown stores', () => {
    expect(() => loadConfig({ ...base, HARBOR_USERNAME: 'alice' })).toThrow(/set both/);
    expect(() => loadConfig({ HARBOR_URL: 'https://h.example.com/harbor' })).toThrow(/only scheme, host and port/);
    expect(() => loadConfig({ ...base, RELAY_STORE: 'nfs:/x' })).toThrow(/neither file:DIR/);
  });

  it('refuses RELAY_AUTH=none on an address other hosts can reach', () => {
    expect(() => loadConfig({ ...base, HOST: '0.0.0.0', RELAY_AUTH: 'none' })).toThrow(/RELAY_AUTH=none is refused/);
    expect(loadConfig({ ...base, HOST: '0.0.0.0', RELAY_PUBLIC_URL: 'http://relay.example.com:8080' }).auth).toBe('harbor');
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
