import { randomUUID } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { COPY_LEASE_TTL_MS, type CopyLeases, type HeldLease } from '../copy-lease.ts';
import { splitDigest, type Digest } from '../digest.ts';
import { S3JsonObjects } from '../records/s3-json-objects.ts';

/** Options for {@link S3CopyLeases}. */
export interface S3CopyLeasesOptions {
  client: S3Client;
  bucket: string;
  /** The store's key prefix, without a trailing slash ('' for none): leases sit beside `blobs/`. */
  prefix?: string;
  ttlMs?: number;
  /** Milliseconds since the epoch; injectable for tests. Lambda clocks are NTP-synced, far inside a lease lifetime. */
  now?: () => number;
}

/** The lease document: who holds it and until when (ms since the epoch). */
interface LeaseBody {
  holder: string;
  expiresAt: number;
}

/**
 * Copy leases as S3 objects `[<prefix>/]leases/<alg>/<hex>`, written only with S3 conditional
 * writes (2024): a free digest is taken with `If-None-Match: *`; a lapsed lease, a renewal and a
 * release are overwrites with `If-Match: <the ETag read or last written>`. Of two workers racing
 * for one key S3 lets exactly one write succeed (412 for the other), which is the whole decision.
 * Release writes an already-lapsed body instead of deleting: an unconditional DELETE could remove
 * a lease another worker had just taken over, and conditional DELETE is not available everywhere.
 * The few bytes per digest stay behind, like the blob they guarded.
 */
export class S3CopyLeases implements CopyLeases {
  readonly ttlMs: number;
  #docs: S3JsonObjects;
  #prefix: string;
  #now: () => number;

  constructor(options: S3CopyLeasesOptions) {
    this.#docs = new S3JsonObjects(options.client, options.bucket);
    this.#prefix = (options.prefix ?? '').replace(/\/+$/, '');
    this.ttlMs = options.ttlMs ?? COPY_LEASE_TTL_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The lease object's key for `digest`. */
  key(digest: Digest): string {
    const { algorithm, hex } = splitDigest(digest);
    const key = `leases/${algorithm}/${hex}`;
    return this.#prefix === '' ? key : `${this.#prefix}/${key}`;
  }

  async tryAcquire(digest: Digest): Promise<HeldLease | undefined> {
    const key = this.key(digest);
    const current = await this.#docs.read<LeaseBody>(key);
    if (current && current.value.expiresAt > this.#now()) return undefined;
    const holder = randomUUID();
    const written = await this.#docs.write(key, { holder, expiresAt: this.#now() + this.ttlMs } satisfies LeaseBody, current?.etag);
    return written.written ? this.#held(key, holder, written.etag) : undefined;
  }

  #held(key: string, holder: string, firstEtag: string): HeldLease {
    let etag = firstEtag;
    return {
      renew: async () => {
        const written = await this.#docs.write(key, { holder, expiresAt: this.#now() + this.ttlMs } satisfies LeaseBody, etag);
        if (written.written) etag = written.etag;
        return written.written;
      },
      release: async () => {
        // Lost meanwhile (412): the new holder's lease is not ours to end.
        await this.#docs.write(key, { holder, expiresAt: 0 } satisfies LeaseBody, etag);
      },
    };
  }
}
