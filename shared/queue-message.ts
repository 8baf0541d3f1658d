import { z } from 'zod';

/** The one queue message, versioned and validated by both the sender and the worker. */
export const PullMessageSchema = z.object({
  v: z.literal(1),
  pullId: z.string().min(1).max(64),
  /** Canonical image reference, already checked against the configured registries. */
  image: z.string().min(1).max(600),
  /** `os/arch[/variant]`. */
  platform: z.string().min(3).max(100),
});

/** A pull job on the queue. */
export type PullMessage = z.infer<typeof PullMessageSchema>;
