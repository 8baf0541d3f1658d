import type { Readable } from 'node:stream';
import type { BlobStore, StoredObject } from '../../shared/blob-store.ts';
import type { CopyLeases } from '../../shared/copy-lease.ts';
import { copyOnce } from '../../shared/copy-once.ts';
import type { Digest } from '../../shared/digest.ts';
import { parseImageRef, type ImageRef } from '../../shared/image-ref.ts';
import type { Logger } from '../../shared/log.ts';
import { parsePlatform, type Platform } from '../../shared/platform.ts';
import type { LayerRecord, PullRecord } from '../../shared/pull-record.ts';
import { checkPullLimits, type PullLimits } from '../../shared/pull-limits.ts';
import type { PullMessage } from '../../shared/queue-message.ts';
import type { RecordStore } from '../../shared/record-store.ts';
import type { SingleFlight } from '../../shared/single-flight.ts';
import { knownLayerFiles, lastingLayerFiles } from './known-layer-files.ts';
import { proveRepositoryHolds } from './prove-repository-holds.ts';
import { createLayerFiles, type FilesOutcome, type LayerFiles } from './store-files.ts';

/** A layer or config as a manifest describes it. */
export interface BlobDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

/** What the worker needs from a registry (shared/registry's client provides it). */
export interface ImageSource {
  resolve(ref: ImageRef, platform: Platform): Promise<{ manifestDigest: Digest; layers: BlobDescriptor[] }>;
  openBlob(ref: ImageRef, descriptor: BlobDescriptor): Promise<Readable>;
}

/** What relaying one pull needs. */
export interface RelayPullDeps {
  registry: ImageSource;
  store: BlobStore;
  records: RecordStore;
  /** Shared by every pull in this process: a digest is copied once however many pulls want it. */
  copies: SingleFlight<StoredObject>;
  /**
   * Shared by every worker on the store (other processes, other Lambda containers): one of them
   * copies a digest, the others wait for the object. Without it only this process's pulls share copies.
   */
  leases?: CopyLeases;
  log: Logger;
  /** RELAY_MAX_LAYERS / RELAY_MAX_BLOB_BYTES; checked before any byte is copied. */
  limits?: PullLimits;
}

/**
 * Relays one pull: resolve the manifest for the platform, copy each missing layer into the store
 * (verified on the way by the store), record where each came from, and mark the pull done.
 * Throws RelayError on failure; the caller decides between retry and failed (handle-job.ts).
 */
export async function relayPull(deps: RelayPullDeps, message: PullMessage): Promise<PullRecord | undefined> {
  const log = deps.log.child({ pullId: message.pullId, image: message.image, platform: message.platform });
  const record = await deps.records.get(message.pullId);
  if (!record) {
    log.warn('pull record missing; message dropped');
    return undefined;
  }
  if (record.state === 'done' || record.state === 'failed') return record; // a redelivery after the outcome was written

  const ref = parseImageRef(message.image);
  const repository = `${ref.registry}/${ref.repository}`;
  // 1. Resolve: tag → manifest (→ index → the platform's manifest), digests computed from bytes.
  const resolved = await deps.registry.resolve(ref, parsePlatform(message.platform));
  if (deps.limits) checkPullLimits(resolved.layers, deps.limits);
  const layers: LayerRecord[] = resolved.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType }));
  const bytesTotal = layers.reduce((sum, layer) => sum + layer.size, 0);
  await deps.records.update(record.id, { state: 'running', manifestDigest: resolved.manifestDigest, layers, bytesDone: 0, bytesTotal, error: undefined });
  log.info('resolved', { manifestDigest: resolved.manifestDigest, layers: layers.length, bytesTotal });

  // 2. Copy each layer that is not stored yet; the store makes it visible only once verified.
  //    A single-layer artifact's files are staged from the same stream (store-files.ts), unless an
  //    earlier pull of the layer recorded them already.
  const only = resolved.layers.length === 1 ? resolved.layers[0]! : undefined;
  const known = only ? knownLayerFiles(await deps.records.getBlob(only.digest), only.mediaType) : undefined;
  const files = only && !known ? createLayerFiles(only, { store: deps.store, log }) : undefined;
  let listing: FilesOutcome | undefined = known;
  try {
    let bytesDone = 0;
    for (const layer of resolved.layers) {
      let copiedHere = false;
      const stored = await deps.copies.run(layer.digest, () => copyBlob(deps, ref, layer, log, files, () => (copiedHere = true)));
      if (!copiedHere) {
        // Found stored (or copied by another pull): that proves nothing about this repository, whose
        // manifest may name any digest, and the blob record's repositories grant GET /v1/blobs.
        // A repository already on the record was proven when it was put there.
        const linked = (await deps.records.getBlob(layer.digest))?.repositories.includes(repository) ?? false;
        if (!linked) await proveRepositoryHolds(deps.registry, ref, layer);
        await deps.records.putBlob({ digest: layer.digest, size: stored.size, mediaType: layer.mediaType, repositories: [repository] });
      }
      bytesDone += layer.size;
      await deps.records.update(record.id, { bytesDone });
    }
    // Only now, with the layer verified and stored, may anything go under files/.
    if (only && files) {
      listing = await files.finish();
      const lasting = lastingLayerFiles(listing, only.mediaType);
      if (lasting) await deps.records.putBlob({ digest: only.digest, size: only.size, repositories: [], ...lasting });
    }
  } finally {
    await files?.discard();
  }

  // 3. Done: every layer is verified and stored (and the files listed, in the same write).
  const done = await deps.records.update(record.id, { ...listing, state: 'done' });
  log.info('pull done', { manifestDigest: resolved.manifestDigest });
  return done;
}

/** The layer from the store, copied from the registry first unless it is there (by this worker or, under a lease, another). */
async function copyBlob(deps: RelayPullDeps, ref: ImageRef, layer: BlobDescriptor, log: Logger, files: LayerFiles | undefined, onCopied: () => void): Promise<StoredObject> {
  const stat = () => deps.store.stat('blobs', layer.digest);
  const copy = async () => {
    const stored = await copyFromRegistry(deps, ref, layer, log, files);
    onCopied();
    return stored;
  };
  if (deps.leases) return copyOnce({ digest: layer.digest, leases: deps.leases, stat, copy, log });
  return (await stat()) ?? (await copy());
}

async function copyFromRegistry(deps: RelayPullDeps, ref: ImageRef, layer: BlobDescriptor, log: Logger, files?: LayerFiles): Promise<StoredObject> {
  const started = performance.now();
  const body = await deps.registry.openBlob(ref, layer);
  const stored = await deps.store.put('blobs', layer.digest, layer.size, files ? files.tee(body) : body);
  log.info('blob copied', { digest: layer.digest, size: layer.size, ms: Math.round(performance.now() - started) });
  // Recorded inside the copy, so pulls of the same repository that joined it find the repository
  // linked and need not ask the registry again.
  await deps.records.putBlob({ digest: layer.digest, size: stored.size, mediaType: layer.mediaType, repositories: [`${ref.registry}/${ref.repository}`] });
  return stored;
}
