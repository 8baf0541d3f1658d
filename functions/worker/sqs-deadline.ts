import type { Readable } from 'node:stream';
import { RelayError } from '../../shared/errors.ts';
import type { RelayPullDeps } from './relay-pull.ts';

/**
 * Stop this long before Lambda's hard timeout: enough to cancel the upload (AbortMultipartUpload),
 * record the attempt and give the message its retry delay, each one S3/SQS round trip.
 */
export const DEADLINE_MARGIN_MS = 20_000;

/** An AbortSignal that fires `marginMs` before the invocation's deadline; dispose() clears its timer. */
export function deadlineSignal(remainingMs: number, marginMs: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const budget = remainingMs - marginMs;
  const abort = () => controller.abort(new RelayError('DEADLINE_EXCEEDED', `stopped ${Math.round(marginMs / 1000)} s before the Lambda deadline; the pull goes back to the queue`));
  if (budget <= 0) {
    abort();
    return { signal: controller.signal, dispose: () => undefined };
  }
  const timer = setTimeout(abort, budget);
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/**
 * The worker's dependencies bound to a deadline: registry calls lose the race against it, and a
 * copy in progress has its source destroyed, which makes the store abort its upload (nothing is
 * left half-written). relayPull then throws DEADLINE_EXCEEDED, a retryable error.
 */
export function withDeadline(deps: RelayPullDeps, signal: AbortSignal): RelayPullDeps {
  const registry = deps.registry;
  const store = deps.store;
  return {
    ...deps,
    registry: {
      resolve: (ref, platform) => race(registry.resolve(ref, platform), signal),
      openBlob: async (ref, descriptor) => {
        const opening = registry.openBlob(ref, descriptor);
        try {
          return await race(opening, signal);
        } catch (err) {
          // The stream may still arrive after the deadline: release its socket then.
          opening.then((stream) => stream.destroy(), () => undefined);
          throw err;
        }
      },
    },
    store: {
      stat: (kind, digest) => race(store.stat(kind, digest), signal),
      signUrl: (kind, digest, ttl) => store.signUrl(kind, digest, ttl),
      put: async (kind, digest, size, source: Readable) => {
        const stop = () => source.destroy(signal.reason as Error);
        if (signal.aborted) stop();
        signal.addEventListener('abort', stop, { once: true });
        try {
          return await store.put(kind, digest, size, source);
        } finally {
          signal.removeEventListener('abort', stop);
        }
      },
    },
  };
}

function race<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
