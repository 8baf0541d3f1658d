import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CopyLeases } from '../../shared/copy-lease.ts';
import { digestOf } from '../../shared/digest.ts';

/** Lifetime the contract runs with; time only moves when a test moves the clock. */
export const CONTRACT_TTL_MS = 30_000;

/** One worker's handle on leases that every handle from the same opener shares (one file, one bucket). */
export type OpenCopyLeases = (options: { ttlMs: number; now: () => number }) => CopyLeases | Promise<CopyLeases>;

/**
 * What every CopyLeases adapter must do, run against each (SQLite in unit tests, S3 through
 * fauxqs and the conditional-write proxy in integration tests). Each handle stands for another
 * worker process; every test takes a fresh digest, so tests share the backing store safely.
 */
export function copyLeasesContract(open: OpenCopyLeases): void {
  const setup = async (workers: number) => {
    const clock = { now: 2_000_000_000_000 };
    const handles = await Promise.all(Array.from({ length: workers }, () => open({ ttlMs: CONTRACT_TTL_MS, now: () => clock.now })));
    return { clock, handles, digest: digestOf(randomBytes(16)) };
  };

  it('grants one holder at a time', async () => {
    const { handles: [a, b], digest } = await setup(2);
    expect(await a!.tryAcquire(digest)).toBeDefined();
    expect(await b!.tryAcquire(digest)).toBeUndefined();
    expect(await a!.tryAcquire(digest)).toBeUndefined(); // a second acquisition is another holder
    expect(await b!.tryAcquire(digestOf(randomBytes(16)))).toBeDefined(); // other digests are free
  });

  it('of workers racing for a free digest, exactly one gets the lease', async () => {
    const { handles, digest } = await setup(6);
    const leases = await Promise.all(handles.map((handle) => handle.tryAcquire(digest)));
    expect(leases.filter(Boolean)).toHaveLength(1);
  });

  it('frees the digest on release', async () => {
    const { handles: [a, b], digest } = await setup(2);
    await (await a!.tryAcquire(digest))!.release();
    expect(await b!.tryAcquire(digest)).toBeDefined();
  });

  it('lets a lapsed lease be taken over; the old holder then can neither renew nor release it', async () => {
    const { clock, handles: [a, b, c], digest } = await setup(3);
    const crashed = (await a!.tryAcquire(digest))!;
    clock.now += CONTRACT_TTL_MS - 1;
    expect(await b!.tryAcquire(digest)).toBeUndefined();
    clock.now += 1;
    const successor = await b!.tryAcquire(digest);
    expect(successor).toBeDefined();
    expect(await crashed.renew()).toBe(false);
    await crashed.release();
    expect(await c!.tryAcquire(digest)).toBeUndefined();
    expect(await successor!.renew()).toBe(true);
  });

  it('keeps a renewed lease past its first lifetime', async () => {
    const { clock, handles: [a, b], digest } = await setup(2);
    const held = (await a!.tryAcquire(digest))!;
    clock.now += (CONTRACT_TTL_MS * 2) / 3;
    expect(await held.renew()).toBe(true);
    clock.now += (CONTRACT_TTL_MS * 2) / 3;
    expect(await b!.tryAcquire(digest)).toBeUndefined();
    clock.now += CONTRACT_TTL_MS;
    expect(await b!.tryAcquire(digest)).toBeDefined();
  });
}

/** Runs the contract inside a describe block named for the adapter. */
export function describeCopyLeases(name: string, open: OpenCopyLeases): void {
  describe(`${name}: the CopyLeases contract`, () => copyLeasesContract(open));
}
