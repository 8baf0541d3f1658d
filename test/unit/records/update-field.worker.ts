// Runs in a worker thread: its own connection, updating one field of one pull many times and
// counting how often another writer had rolled that field back (a lost update).
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteRecordStore } from '../../../shared/records/sqlite-record-store.ts';

const { path, id, field, rounds, startAt } = workerData as {
  path: string;
  id: string;
  field: 'bytesDone' | 'bytesTotal';
  rounds: number;
  startAt: number;
};
const store = new SqliteRecordStore({ path });
// Start together, so the writers really contend (thread start-up takes tens of milliseconds).
while (Date.now() < startAt);
let lost = 0;
for (let i = 1; i <= rounds; i++) {
  const before = await store.get(id);
  if ((before?.[field] ?? 0) !== i - 1) lost += 1;
  await store.update(id, { [field]: i });
}
store.close();
parentPort!.postMessage(lost);
