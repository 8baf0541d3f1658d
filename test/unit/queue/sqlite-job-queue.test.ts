import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { isRelayError } from '../../../shared/errors.ts';
import { SqliteJobQueue } from '../../../shared/queue/sqlite-job-queue.ts';
import type { PullMessage } from '../../../shared/queue-message.ts';

const VISIBILITY_MS = 30_000;
let clock = 1_000_000;
const open: SqliteJobQueue[] = [];
const dirs: string[] = [];

function memoryQueue(): SqliteJobQueue {
  const queue = new SqliteJobQueue({ path: ':memory:', visibilityTimeoutMs: VISIBILITY_MS, now: () => clock });
  open.push(queue);
  return queue;
}

function message(pullId: string): PullMessage {
  return { v: 1, pullId, image: 'harbor.test/proj/app:1.0', platform: 'linux/amd64' };
}

function ids(jobs: { body: unknown }[]): string[] {
  return jobs.map((job) => (job.body as PullMessage).pullId);
}

afterEach(async () => {
  for (const queue of open.splice(0)) queue.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  clock = 1_000_000;
});

describe('SqliteJobQueue', () => {
  it('delivers in FIFO order, up to max, with the body as sent', async () => {
    const queue = memoryQueue();
    for (const id of ['a', 'b', 'c']) await queue.send(message(id));
    const first = await queue.receive(2);
    expect(ids(first)).toEqual(['a', 'b']);
    expect(first[0]!.body).toEqual(message('a'));
    expect(first.map((job) => job.receiveCount)).toEqual([1, 1]);
    expect(ids(await queue.receive(10))).toEqual(['c']);
    expect(await queue.receive(10)).toEqual([]);
  });

  it('hides a received message for the visibility timeout, then delivers it again', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    expect((await queue.receive(1))[0]!.receiveCount).toBe(1);
    clock += VISIBILITY_MS - 1;
    expect(await queue.receive(1)).toEqual([]);
    clock += 1;
    const again = await queue.receive(1);
    expect(ids(again)).toEqual(['a']);
    expect(again[0]!.receiveCount).toBe(2);
  });

  it('deletes with the current receipt', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.delete(job!.receipt);
    expect(await queue.depth()).toBe(0);
    clock += VISIBILITY_MS;
    expect(await queue.receive(1)).toEqual([]);
  });

  it('ignores a stale receipt once someone else received the message', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    const [stale] = await queue.receive(1);
    clock += VISIBILITY_MS;
    const [current] = await queue.receive(1);
    await queue.delete(stale!.receipt);
    await queue.release(stale!.receipt, 0);
    expect(await queue.depth()).toBe(1);
    expect(await queue.receive(1)).toEqual([]);
    await queue.delete(current!.receipt);
    expect(await queue.depth()).toBe(0);
  });

  it('releases a message to come back after the delay', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.release(job!.receipt, 10);
    clock += 9_999;
    expect(await queue.receive(1)).toEqual([]);
    clock += 1;
    const [again] = await queue.receive(1);
    expect(again!.receiveCount).toBe(2);
  });

  it('releases with no delay for an immediate retry', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await queue.release(job!.receipt, 0);
    expect(ids(await queue.receive(1))).toEqual(['a']);
  });

  it('never hands one message to two receivers sharing a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sqlite-job-queue-'));
    dirs.push(dir);
    const path = join(dir, 'queue.db');
    const one = new SqliteJobQueue({ path, now: () => clock });
    const two = new SqliteJobQueue({ path, now: () => clock });
    open.push(one, two);
    for (let i = 0; i < 50; i++) await one.send(message(`m${i}`));
    const seen: string[] = [];
    for (;;) {
      const batch = [...(await one.receive(3)), ...(await two.receive(4))];
      if (batch.length === 0) break;
      seen.push(...ids(batch));
    }
    expect(seen).toHaveLength(50);
    expect(new Set(seen).size).toBe(50);
  });

  it('never hands one message to two connections receiving at the same time (threads)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sqlite-job-queue-'));
    dirs.push(dir);
    const path = join(dir, 'queue.db');
    const sender = new SqliteJobQueue({ path });
    open.push(sender);
    for (let i = 0; i < 1000; i++) await sender.send(message(`m${i}`));
    const startAt = Date.now() + 300;
    const receivers = [1, 2, 3].map(
      () =>
        new Promise<string[]>((resolve, reject) => {
          const worker = new Worker(new URL('./receive-all.worker.ts', import.meta.url), { workerData: { path, startAt } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    );
    const seen = (await Promise.all(receivers)).flat();
    expect(seen).toHaveLength(1000);
    expect(new Set(seen).size).toBe(1000);
  });

  it('refuses a message that does not match the schema, and stores nothing', async () => {
    const queue = memoryQueue();
    const bad = { ...message('a'), v: 2 } as unknown as PullMessage;
    const err = await queue.send(bad).catch((e: unknown) => e);
    expect(isRelayError(err, 'INVALID_REQUEST')).toBe(true);
    await expect(queue.send({ ...message(''), pullId: '' })).rejects.toThrow();
    expect(await queue.depth()).toBe(0);
  });

  it('refuses receipts it did not issue and out-of-range delays', async () => {
    const queue = memoryQueue();
    await queue.send(message('a'));
    const [job] = await queue.receive(1);
    await expect(queue.delete('not-a-receipt')).rejects.toThrow(/receipt/);
    await expect(queue.release(job!.receipt, -1)).rejects.toThrow(/delay/);
  });

  it('keeps messages across reopening the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sqlite-job-queue-'));
    dirs.push(dir);
    const path = join(dir, 'nested', 'queue.db');
    const first = new SqliteJobQueue({ path });
    await first.send(message('a'));
    first.close();
    const second = new SqliteJobQueue({ path });
    open.push(second);
    expect(ids(await second.receive(1))).toEqual(['a']);
  });
});
