// Runs in a worker thread: its own connection to the queue file, receiving until the queue is empty.
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteJobQueue } from '../../../shared/queue/sqlite-job-queue.ts';

const { path, startAt } = workerData as { path: string; startAt: number };
const queue = new SqliteJobQueue({ path });
// Start together, so the receivers really contend (thread start-up takes tens of milliseconds).
while (Date.now() < startAt);
const seen: string[] = [];
for (;;) {
  const batch = await queue.receive(1);
  if (batch.length === 0) break;
  for (const job of batch) seen.push((job.body as { pullId: string }).pullId);
}
queue.close();
parentPort!.postMessage(seen);
