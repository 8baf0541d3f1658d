// Runs in a worker thread: its own connection to the leases file, one attempt at the lease.
import { parentPort, workerData } from 'node:worker_threads';
import type { Digest } from '../../../shared/digest.ts';
import { SqliteCopyLeases } from '../../../shared/leases/sqlite-copy-leases.ts';

const { path, digest, startAt } = workerData as { path: string; digest: Digest; startAt: number };
const leases = new SqliteCopyLeases({ path });
// Start together, so the attempts really contend (thread start-up takes tens of milliseconds).
while (Date.now() < startAt);
const held = await leases.tryAcquire(digest);
leases.close();
parentPort!.postMessage(held !== undefined);
