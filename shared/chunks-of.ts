import { Readable } from 'node:stream';

/**
 * A stream's chunks one by one, as they arrived, with back-pressure (the stream is paused while a
 * chunk waits for its consumer). Why not `for await (… of stream)`: Node's iterator calls `read()`,
 * which concatenates everything buffered into a new Buffer — one copy of every byte of a blob and
 * the garbage that goes with it (seen in the relay's CPU profile: `fromList` + GC on each copy).
 * Other async iterables are returned as they are.
 */
export function chunksOf<T extends Uint8Array>(source: AsyncIterable<T>): AsyncIterable<T> {
  return source instanceof Readable ? readChunks<T>(source) : source;
}

async function* readChunks<T>(stream: Readable): AsyncGenerator<T> {
  const queue: T[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const onData = (chunk: T) => {
    queue.push(chunk);
    stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  const onClose = () => {
    // Destroyed without an error and before its end: the body was cut, not finished.
    if (!ended) onError(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    if (stream.readableEnded) ended = true;
    else if (stream.errored) failure = { error: stream.errored };
    for (;;) {
      const chunk = queue.shift();
      if (chunk !== undefined) {
        if (queue.length === 0 && !ended && !failure) stream.resume();
        yield chunk;
        continue;
      }
      if (failure) throw failure.error;
      if (ended) return;
      if (stream.destroyed) {
        onClose();
        continue;
      }
      stream.resume();
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
    if (!ended) {
      // The consumer stopped early: release the socket, as for-await does. undici reports the
      // abort we cause as an 'error' event (RequestAbortedError); it is ours, not news.
      stream.on('error', ignoreError);
      stream.destroy();
    }
  }
}

function ignoreError(): void {
  // An error from a stream we destroyed on purpose; the consumer has already moved on.
}
