import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredObject } from '../../shared/blob-store.ts';
import { copyOnce, type CopyOnceOptions } from '../../shared/copy-once.ts';
import { digestOf, type Digest } from '../../shared/digest.ts';
import { SqliteCopyLeases } from '../../shared/leases/sqlite-copy-leases.ts';
import { createLogger } from '../../shared/log.ts';

const TTL_MS = 30_000;
const log = createLogger({ write: () => undefined });
let clock = 1_000_000;
const open: SqliteCopyLeases[] = [];

afterEach(() => {
  for (const leases of open.splice(0)) leases.close();
  clock = 1_000_000;
});

/** Leases on one in-memory table, and a store that is a set of digests: one "machine" of workers. */
function world() {
  const leases = new SqliteCopyLeases({ path: ':memory:', ttlMs: TTL_MS, now: () => clock });
  open.push(leases);
  const stored = new Set<string>();
  const digest = digestOf(randomBytes(8));
  const copies: string[] = [];
  /** One worker's options: its copy stores the object (after `gate`, when given) and counts itself. */
  const worker = (name: string, extra: Partial<CopyOnceOptions> & { gate?: Promise<void> } = {}): CopyOnceOptions => ({
    digest,
    leases,
    log,
    stat: async () => (stored.has(digest) ? { digest, size: 1 } : undefined),
    copy: async (): Promise<StoredObject> => {
      copies.push(name);
      await extra.gate;
      stored.add(digest);
      return { digest, size: 1 };
    },
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    ...extra,
  });
  return { leases, stored, digest: digest as Digest, copies, worker };
}

describe('copyOnce', () => {
  it('copies nothing and takes no lease when the object is stored', async () => {
    const { stored, digest, copies, worker, leases } = world();
    stored.add(digest);
    expect(await copyOnce(worker('a'))).toEqual({ digest, size: 1 });
    expect(copies).toEqual([]);
    expect(await leases.tryAcquire(digest)).toBeDefined();
  });

  it('two workers at once: one copies, the other waits for that object', async () => {
    const { digest, copies, worker } = world();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    let waitsOfB = 0;
    const sleepB = () => new Promise<void>((resolve) => setImmediate(() => resolve(void (waitsOfB += 1))));
    const both = Promise.all([copyOnce(worker('a', { gate })), copyOnce(worker('b', { gate, sleep: sleepB }))]);
    // Hold the copy until the other worker has found the lease taken and is waiting.
    while (copies.length === 0 || waitsOfB === 0) await new Promise((resolve) => setImmediate(resolve));
    open();
    expect(await both).toEqual([{ digest, size: 1 }, { digest, size: 1 }]);
    expect(copies).toHaveLength(1);
  });

  it('waits while another worker holds a live lease, and returns its object without copying', async () => {
    const { leases, stored, digest, copies, worker } = world();
    const holder = (await leases.tryAcquire(digest))!;
    let waits = 0;
    const sleep = async () => {
      waits += 1;
      if (waits === 3) {
        stored.add(digest); // the holder finished
        await holder.release();
      }
    };
    expect(await copyOnce(worker('b', { sleep }))).toEqual({ digest, size: 1 });
    expect(copies).toEqual([]);
    expect(waits).toBe(3);
  });

  it('takes over the lease of a holder that died (it lapsed) and copies', async () => {
    const { leases, digest, copies, worker } = world();
    await leases.tryAcquire(digest); // a holder that never renews nor releases
    let waited = 0;
    const sleep = async (ms: number) => {
      waited += ms;
      clock += ms;
    };
    expect(await copyOnce(worker('b', { sleep }))).toEqual({ digest, size: 1 });
    expect(copies).toEqual(['b']);
    expect(waited).toBeGreaterThanOrEqual(TTL_MS);
  });

  it('releases the lease when its copy fails, so the next worker copies at once', async () => {
    const { leases, digest, copies, worker } = world();
    const failing = worker('a', { copy: () => Promise.reject(new Error('registry down')) });
    await expect(copyOnce(failing)).rejects.toThrow('registry down');
    expect(await leases.tryAcquire(digest)).toBeDefined();
    expect(copies).toEqual([]);
  });
});
