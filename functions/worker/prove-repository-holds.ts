import type { Readable } from 'node:stream';
import type { Digest } from '../../shared/digest.ts';
import { isRelayError, RelayError } from '../../shared/errors.ts';
import type { ImageRef } from '../../shared/image-ref.ts';

/** The part of the registry client the proof uses (relay-pull.ts's ImageSource has it). */
export interface BlobOpening {
  openBlob(ref: ImageRef, descriptor: { mediaType: string; digest: Digest; size: number }): Promise<Readable>;
}

/**
 * Resolves when the registry serves `layer` from `ref`'s repository with the worker's token. A layer
 * the store already holds must pass this before the repository is recorded on it, because that
 * record is what grants `GET /v1/blobs/:digest` (README "Access"): a manifest may name any digest
 * (Harbor runs its registry with validation disabled, so foreign layers are accepted unchecked).
 * The registry client has no blob HEAD, so this opens the blob from the registry only (the
 * descriptor is passed without `urls`, so no foreign URL can answer for it) and drops the body at
 * once: the answer's status is the proof, at the cost of response headers.
 * Throws BLOB_NOT_FOUND when the repository does not hold the blob.
 */
export async function proveRepositoryHolds(registry: BlobOpening, ref: ImageRef, layer: { mediaType: string; digest: Digest; size: number }): Promise<void> {
  let body: Readable;
  try {
    body = await registry.openBlob(ref, { mediaType: layer.mediaType, digest: layer.digest, size: layer.size });
  } catch (err) {
    if (!isRelayError(err, 'BLOB_NOT_FOUND')) throw err;
    throw new RelayError('BLOB_NOT_FOUND', `${ref.repository} does not hold layer ${layer.digest}: the manifest names a blob the registry does not serve from this repository`, {
      cause: err,
      details: { repository: ref.repository, digest: layer.digest },
    });
  }
  body.on('error', () => undefined); // destroying a live download may surface an abort; it is expected
  body.destroy();
}
