import { describe, expect, it } from 'vitest';
import { AllowCache, MAX_ALLOW_TTL_MS } from '../../../shared/auth/allow-cache.ts';

describe('AllowCache', () => {
  it('keeps a yes for its TTL, never longer than a minute', () => {
    let now = 0;
    const cache = new AllowCache({ ttlMs: 10 * 60_000, now: () => now });
    const key = cache.key('alice', 'pw', 'team/app');
    expect(cache.has(key)).toBe(false);
    cache.allow(key);
    now = MAX_ALLOW_TTL_MS - 1;
    expect(cache.has(key)).toBe(true);
    now = MAX_ALLOW_TTL_MS;
    expect(cache.has(key)).toBe(false);
  });

  it('keys by user, password and repository, unambiguously, without holding the password', () => {
    const cache = new AllowCache();
    const key = cache.key('alice', 'pw', 'team/app');
    expect(key).not.toContain('pw');
    expect(new Set([key, cache.key('alice', 'pw2', 'team/app'), cache.key('alice', 'pw', 'team/app2'), cache.key('alice:pw', '', 'team/app'), cache.key('alic', 'epw', 'team/app')]).size).toBe(5);
    // Another process (another HMAC key) cannot precompute keys.
    expect(new AllowCache().key('alice', 'pw', 'team/app')).not.toBe(key);
  });

  it('drops the oldest entries beyond its bound', () => {
    const cache = new AllowCache({ maxEntries: 2 });
    const [a, b, c] = ['a', 'b', 'c'].map((user) => cache.key(user, 'pw', 'r/x'));
    for (const key of [a!, b!, c!]) cache.allow(key);
    expect([cache.has(a!), cache.has(b!), cache.has(c!)]).toEqual([false, true, true]);
  });
});
