import { createHmac, randomBytes } from 'node:crypto';

/** Harbor's answer may change (a member removed, a password changed): a yes is trusted for one minute at most. */
export const MAX_ALLOW_TTL_MS = 60_000;
/** Bounds memory against a flood of distinct credentials; the oldest entries go first. */
export const DEFAULT_ALLOW_CACHE_ENTRIES = 10_000;

/** Options for {@link AllowCache}. */
export interface AllowCacheOptions {
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}

/**
 * Remembers recent "yes, may pull" answers. The key is an HMAC (a random key per process) of the
 * username, the password and the repository: a changed or wrong password is a different key, so it
 * is never answered from the cache, and the cache holds no password or fast-to-invert hash of one.
 */
export class AllowCache {
  readonly #secret = randomBytes(32);
  readonly #entries = new Map<string, number>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: AllowCacheOptions = {}) {
    this.#ttlMs = Math.min(options.ttlMs ?? MAX_ALLOW_TTL_MS, MAX_ALLOW_TTL_MS);
    this.#maxEntries = options.maxEntries ?? DEFAULT_ALLOW_CACHE_ENTRIES;
    this.#now = options.now ?? Date.now;
  }

  /** The cache key of one question; also usable to share an answer that is still being fetched. */
  key(username: string, password: string, repository: string): string {
    // JSON keeps the three apart: no (user, password) split yields another's key.
    return createHmac('sha256', this.#secret).update(JSON.stringify([username, password, repository])).digest('base64url');
  }

  /** True when a yes for `key` was stored less than the TTL ago. */
  has(key: string): boolean {
    const expires = this.#entries.get(key);
    if (expires === undefined) return false;
    if (this.#now() < expires) return true;
    this.#entries.delete(key);
    return false;
  }

  /** Stores a yes. */
  allow(key: string): void {
    this.#entries.delete(key);
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, this.#now() + this.#ttlMs);
  }
}
