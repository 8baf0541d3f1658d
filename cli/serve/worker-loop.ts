import type { PolledJobQueue, ReceivedJob } from '../../shared/job-queue.ts';
import { errorFields, type Logger } from '../../shared/log.ts';
import type { JobOutcome } from '../../functions/worker/handle-job.ts';

/** How often an idle loop looks for work: short enough that a pull starts at once locally. */
export const IDLE_POLL_MS = 250;

/** Options for {@link startWorkerLoop}. */
export interface WorkerLoopOptions {
  queue: PolledJobQueue;
  handle: (job: ReceivedJob) => Promise<JobOutcome>;
  /** Jobs worked on at once. */
  concurrency: number;
  log: Logger;
  idlePollMs?: number;
}

/** A running worker loop. */
export interface WorkerLoop {
  /** Look for work now instead of at the next poll (the api just queued something). */
  wake(): void;
  /** Stops taking work and waits for the jobs in hand. */
  stop(): Promise<void>;
}

/**
 * The local stand-in for SQS → Lambda: polls the SQLite queue, runs up to `concurrency` jobs at
 * once, and acknowledges (delete), retries (release with delay) or drops each as handleJob says.
 */
export function startWorkerLoop(options: WorkerLoopOptions): WorkerLoop {
  const inHand = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const runJob = async (job: ReceivedJob) => {
    try {
      const outcome = await options.handle(job);
      if (outcome.kind === 'retry') await options.queue.release(job.receipt, outcome.delaySeconds);
      else await options.queue.delete(job.receipt);
    } catch (err) {
      // The message stays hidden until its visibility timeout, then comes back: nothing is lost.
      options.log.error('worker loop: job handling failed', errorFields(err));
    }
  };

  let polling = false;
  let pollAgain = false;
  const poll = async () => {
    timer = undefined;
    if (stopped) return;
    if (polling) {
      pollAgain = true; // one poll at a time, so `concurrency` is never exceeded
      return;
    }
    polling = true;
    let received = 0;
    try {
      const free = options.concurrency - inHand.size;
      const jobs = free > 0 ? await options.queue.receive(free) : [];
      received = jobs.length;
      for (const job of jobs) {
        const running: Promise<void> = runJob(job).finally(() => {
          inHand.delete(running);
          schedule(0);
        });
        inHand.add(running);
      }
    } catch (err) {
      options.log.error('worker loop: receive failed', errorFields(err));
    } finally {
      polling = false;
    }
    const again = pollAgain || received > 0;
    pollAgain = false;
    schedule(again ? 0 : (options.idlePollMs ?? IDLE_POLL_MS));
  };

  const schedule = (delayMs: number) => {
    if (stopped) return;
    if (timer !== undefined) {
      if (delayMs > 0) return;
      clearTimeout(timer);
    }
    timer = setTimeout(() => void poll(), delayMs);
  };

  schedule(0);
  return {
    wake: () => schedule(0),
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await Promise.allSettled([...inHand]);
    },
  };
}
