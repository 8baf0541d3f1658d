import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.ts';

const base = { HARBOR_URL: 'https://harbor.example.com' };
const token = 'T'.repeat(40);
const tokensJson = JSON.stringify([{ name: 'deploy', token, repositories: ['team/*'] }]);

describe('RELAY_AUTH and its default', () => {
  it.each([
    ['local loopback use', {}, 'none'],
    ['listening on all interfaces', { HOST: '0.0.0.0', RELAY_PUBLIC_URL: 'http://127.0.0.1:8080' }, 'harbor'],
    ['behind a proxy (public URL names another host)', { RELAY_PUBLIC_URL: 'https://relay.example.com' }, 'harbor'],
    ['a loopback public URL', { RELAY_PUBLIC_URL: 'http://[::1]:9000' }, 'none'],
    ['in AWS Lambda', { AWS_LAMBDA_FUNCTION_NAME: 'relay-api' }, 'harbor'],
    ['explicit harbor on loopback', { RELAY_AUTH: 'harbor' }, 'harbor'],
  ])('%s → %s', (_, env, mode) => {
    expect(loadConfig({ ...base, ...env }).auth).toBe(mode);
  });

  it.each([
    ['on 0.0.0.0', { HOST: '0.0.0.0' }, /listening on 0\.0\.0\.0/],
    ['in Lambda', { AWS_LAMBDA_FUNCTION_NAME: 'relay-api' }, /AWS Lambda/],
    ['behind a proxy', { RELAY_PUBLIC_URL: 'https://relay.example.com' }, /RELAY_PUBLIC_URL/],
  ])('refuses an explicit none %s', (_, env, message) => {
    expect(() => loadConfig({ ...base, RELAY_AUTH: 'none', ...env })).toThrow(message);
  });

  it('reads API tokens from RELAY_TOKENS or RELAY_TOKENS_FILE with RELAY_AUTH=token', () => {
    expect(loadConfig({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS: tokensJson }).apiTokens).toEqual([{ name: 'deploy', token, repositories: ['team/*'] }]);
    const file = join(mkdtempSync(join(tmpdir(), 'relay-tokens-')), 'tokens.json');
    writeFileSync(file, tokensJson);
    expect(loadConfig({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS_FILE: file }).apiTokens?.[0]?.name).toBe('deploy');
  });

  it('refuses token mode without tokens, tokens without token mode, and both sources at once — quoting no token', () => {
    expect(() => loadConfig({ ...base, RELAY_AUTH: 'token' })).toThrow(/needs RELAY_TOKENS/);
    expect(() => loadConfig({ ...base, RELAY_AUTH: 'harbor', RELAY_TOKENS: tokensJson })).toThrow(/set RELAY_AUTH=token/);
    expect(() => loadConfig({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS: tokensJson, RELAY_TOKENS_FILE: '/x' })).toThrow(/set one, not both/);
    expect(() => loadConfig({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS_FILE: '/nonexistent/tokens.json' })).toThrow(/cannot read/);
    try {
      loadConfig({ ...base, RELAY_AUTH: 'token', RELAY_TOKENS: `[{"name":"x","token":"${token}"` });
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toMatch(/not valid JSON/);
      expect((err as Error).message).not.toContain(token);
    }
  });

  it('reads the webhook platforms and the pull limits', () => {
    const config = loadConfig({ ...base, RELAY_WEBHOOK_PLATFORMS: 'linux/amd64, linux/arm64/v8,linux/arm/v7', RELAY_MAX_LAYERS: '3', RELAY_MAX_BLOB_BYTES: '1048576' });
    expect(config.webhookPlatforms).toEqual([{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }]);
    expect(config.limits).toEqual({ maxLayers: 3, maxBlobBytes: 1048576 });
    expect(loadConfig(base).webhookPlatforms).toEqual([{ os: 'linux', architecture: 'amd64' }]);
    expect(() => loadConfig({ ...base, RELAY_WEBHOOK_PLATFORMS: 'linux' })).toThrow(/RELAY_WEBHOOK_PLATFORMS/);
    expect(() => loadConfig({ ...base, RELAY_MAX_LAYERS: '0' })).toThrow(/RELAY_MAX_LAYERS/);
  });
});
