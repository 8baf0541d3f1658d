import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { SqliteCopyLeases } from '../../../shared/leases/sqlite-copy-leases.ts';
import { describeCopyLeases } from '../../support/copy-leases-contract.ts';

// One file, a connection per handle: as two relay processes sharing RELAY_QUEUE see it.
const dir = mkdtempSync(join(tmpdir(), 'copy-leases-'));
const open: SqliteCopyLeases[] = [];
afterAll(() => {
  for (const leases of open) leases.close();
  rmSync(dir, { recursive: true, force: true });
});

describeCopyLeases('SqliteCopyLeases', ({ ttlMs, now }) => {
  const leases = new SqliteCopyLeases({ path: join(dir, 'relay.sqlite'), ttlMs, now });
  open.push(leases);
  return leases;
});

describe('SqliteCopyLeases across threads', () => {
  it('of four connections racing from four threads, exactly one gets the lease', async () => {
    const digest = digestOf(randomBytes(16));
    const startAt = Date.now() + 300;
    const script = new URL('./acquire-lease.worker.ts', import.meta.url);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => new Promise<boolean>((resolve, reject) => {
        const worker = new Worker(script, { workerData: { path: join(dir, 'relay.sqlite'), digest, startAt } });
        worker.once('message', resolve);
        worker.once('error', reject);
      })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });
});
