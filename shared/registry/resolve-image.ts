import { digestOf, splitDigest, type Digest } from '../digest.ts';
import { RelayError } from '../errors.ts';
import { manifestReference, type ImageRef } from '../image-ref.ts';
import { formatPlatform, normalizePlatform, selectPlatform, type Platform } from '../platform.ts';
import type { Descriptor } from './descriptor.ts';
import type { ManifestFetcher } from './fetch-manifest.ts';
import { configPlatform, IMAGE_CONFIG_MEDIA_TYPES, MAX_CONFIG_BYTES } from './image-config.ts';
import type { BlobOpener } from './open-blob.ts';
import { readCapped } from './read-capped.ts';

/** The image manifest chosen for a platform, and what it lists. */
export interface ResolvedImage {
  /** Digest of the chosen image manifest, computed from its bytes. */
  manifestDigest: Digest;
  mediaType: string;
  /** Digest of the index the tag pointed at, when it pointed at one. */
  indexDigest?: Digest;
  /** `os/arch[/variant]` of the chosen index entry, or of the config of a single image manifest. */
  platform?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/**
 * Resolves `ref` for `want`:
 * 1. the manifest by tag or digest (all four types accepted, digest from the bytes);
 * 2. an index → the one entry for the platform (variant rules, attestations skipped: C1–C3) →
 *    that child by the entry's digest, verified against it; the digest picked here is the one
 *    everything after uses (C4);
 * 3. a single image manifest → its config (small, capped, verified) must not name another
 *    platform: a config without os/architecture, or a non-image config (artifacts), matches any.
 */
export async function resolveImage(fetchManifest: ManifestFetcher, openBlob: BlobOpener, ref: ImageRef, want: Platform): Promise<ResolvedImage> {
  const top = await fetchManifest(ref, manifestReference(ref), ref.digest);
  if (top.manifest.kind === 'image') {
    const declared = await readConfigPlatform(openBlob, ref, top.manifest.config);
    if (declared !== undefined) selectPlatform([declared], want); // throws PLATFORM_NOT_FOUND naming what the image is
    return {
      manifestDigest: top.digest,
      mediaType: top.manifest.mediaType,
      ...(declared?.platform ? { platform: formatPlatform(normalizePlatform(declared.platform)) } : {}),
      config: top.manifest.config,
      layers: [...top.manifest.layers],
    };
  }
  const entry = selectPlatform(top.manifest.manifests, want);
  const child = await fetchManifest(ref, entry.digest, entry.digest);
  if (child.manifest.kind !== 'image') {
    throw new RelayError('MANIFEST_INVALID', `index ${top.digest} points at another index ${entry.digest} for ${formatPlatform(want)}`, {
      details: { registry: ref.registry, repository: ref.repository, digest: entry.digest },
    });
  }
  return {
    manifestDigest: child.digest,
    mediaType: child.manifest.mediaType,
    indexDigest: top.digest,
    ...(entry.platform ? { platform: formatPlatform(normalizePlatform(entry.platform)) } : {}),
    config: child.manifest.config,
    layers: [...child.manifest.layers],
  };
}

/** The platform an image config declares, read through the blob path and verified; undefined when it says none. */
async function readConfigPlatform(openBlob: BlobOpener, ref: ImageRef, config: Descriptor): Promise<ReturnType<typeof configPlatform>> {
  if (!IMAGE_CONFIG_MEDIA_TYPES.has(config.mediaType)) return undefined;
  if (config.size > MAX_CONFIG_BYTES) {
    throw new RelayError('MANIFEST_INVALID', `image config ${config.digest} is ${config.size} bytes, more than ${MAX_CONFIG_BYTES}`, {
      details: { registry: ref.registry, repository: ref.repository, digest: config.digest },
    });
  }
  const bytes = await readCapped(await openBlob(ref, config), MAX_CONFIG_BYTES);
  const actual = bytes === undefined ? undefined : digestOf(bytes, splitDigest(config.digest).algorithm);
  if (actual !== config.digest) {
    throw new RelayError('DIGEST_MISMATCH', `image config ${config.digest} hashes to ${actual ?? '(too large)'}`, {
      details: { registry: ref.registry, repository: ref.repository, digest: config.digest, actual },
    });
  }
  return configPlatform(bytes!);
}
