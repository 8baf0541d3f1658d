import type { PullMessage } from './queue-message.ts';

/** The sending side of the job queue: all the api needs. */
export interface JobQueue {
  send(message: PullMessage): Promise<void>;
}

/** A message handed to a worker, with what it needs to acknowledge or release it. */
export interface ReceivedJob {
  /** The raw body; the worker validates it with PullMessageSchema. */
  body: unknown;
  /** Opaque handle for delete / release. */
  receipt: string;
  /** 1 on first delivery. */
  receiveCount: number;
}

/** The receiving side, for pollers (the local worker loop). SQS delivers to Lambda instead. */
export interface PolledJobQueue extends JobQueue {
  /** Up to `max` visible messages, hidden for the visibility timeout while being worked on. */
  receive(max: number): Promise<ReceivedJob[]>;
  /** Done with it, for good. */
  delete(receipt: string): Promise<void>;
  /** Make it visible again after `delaySeconds` (a retry). */
  release(receipt: string, delaySeconds: number): Promise<void>;
}
