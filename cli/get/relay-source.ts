import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { RelayError } from '../../shared/errors.ts';
import { isFinished, type PullRecord } from '../../shared/pull-record.ts';
import type { LayerToFetch } from './fetch-into-directory.ts';
import { relayErrorFrom, type RelayApi } from './relay-api.ts';
import { openResumableDownload } from './resumable-download.ts';

/** An image resolved for `get`: what to download, in order. */
export interface ResolvedForGet {
  manifestDigest: string;
  layers: LayerToFetch[];
  pullId?: string;
}

/** Where `get` takes an image from: the relay, or Harbor directly. */
export interface GetSource {
  resolve(): Promise<ResolvedForGet>;
  /** Raw layer bytes; resumes (`onResume`) and renewed signed URLs (`onUrlRefresh`) are the source's business. */
  openLayer(layer: LayerToFetch, onResume: (offset: number, attempt: number) => void, onUrlRefresh?: () => void): Promise<Readable>;
  /** How often `get` may start the image again from zero after a retryable failure the source could not resume past. */
  readonly restarts: number;
  close(): Promise<void>;
}

/** Later status polls back off (doubling) to this: a copy of GiBs is watched, not hammered. */
const MAX_POLL_MS = 2_000;
/** The first poll comes quickly: a repeat pull of a stored image by tag is done in ~20 ms (npm run bench, item 4). */
const FIRST_POLL_MS = 25;

/** What the relay source reports while it waits. */
export interface RelayWaitObserver {
  state(record: PullRecord): void;
}

/**
 * Through the relay: POST the pull, poll it until done or failed (the observer sees every state
 * and the relay's own byte counts), then download each layer through its signed URL, resumably,
 * asking for a fresh URL if one expires mid-way.
 */
export function createRelaySource(options: { api: RelayApi; image: string; platform: string; timeoutMs: number; observer: RelayWaitObserver; signal?: AbortSignal }): GetSource {
  const urls = new Map<string, string>();
  return {
    async resolve() {
      const deadline = Date.now() + options.timeoutMs;
      let record = await options.api.postPull(options.image, options.platform);
      options.observer.state(record);
      for (let wait = FIRST_POLL_MS; !isFinished(record.state); wait = Math.min(MAX_POLL_MS, wait * 2)) {
        if (Date.now() > deadline) throw new RelayError('RELAY_UNAVAILABLE', `the relay did not finish pull ${record.id} within ${Math.round(options.timeoutMs / 1000)} s (it is ${record.state}); raise --timeout or ask the relay operator`);
        await delay(wait, undefined, options.signal ? { signal: options.signal } : {});
        record = await options.api.getPull(record.id);
        options.observer.state(record);
      }
      if (record.state === 'failed') throw relayErrorFrom(record.error, 'INTERNAL', `pull ${record.id} failed without a reason`);
      for (const layer of record.layers) {
        if (!layer.url) throw new RelayError('RELAY_UNAVAILABLE', `the relay's finished pull ${record.id} lists layer ${layer.digest} without a URL`);
        urls.set(layer.digest, layer.url);
      }
      return {
        manifestDigest: record.manifestDigest ?? '',
        layers: record.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })),
        pullId: record.id,
      };
    },
    async openLayer(layer, onResume, onUrlRefresh) {
      return openResumableDownload({
        url: urls.get(layer.digest) ?? (await options.api.blobUrl(layer.digest)),
        size: layer.size,
        refreshUrl: () => options.api.blobUrl(layer.digest),
        onResume,
        ...(onUrlRefresh ? { onUrlRefresh } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    },
    // The resumable download already recovers from everything a restart would (Range ignored: skip, F2).
    restarts: 0,
    close: async () => {},
  };
}
