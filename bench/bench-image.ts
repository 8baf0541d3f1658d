import { digestOf, type Digest } from '../shared/digest.ts';
import { blob, descriptor } from '../infra/local/fixtures/image-builder.ts';
import type { BuiltLayer } from '../infra/local/fixtures/layer-tar.ts';
import { MEDIA_TYPES } from '../infra/local/fixtures/media-types.ts';
import { createRegistryPusher } from '../infra/local/fixtures/registry-pusher.ts';
import type { HarborLogin } from './harbor-token.ts';

/** The one layer of a bench image, already uploaded. */
export interface BenchLayer {
  digest: Digest;
  size: number;
  /** Digest of the uncompressed tar; for raw (non-tar) blobs, the blob's own digest. */
  diffId: Digest;
}

/** A pushed single-layer image: what a pull names and what the relay should end up storing. */
export interface BenchImage {
  repository: string;
  tags: string[];
  manifestDigest: Digest;
  layer: BenchLayer & { mediaType: string };
}

/**
 * Pushes config and manifest of a `FROM scratch` + one-layer image (the product's use case) whose
 * layer is already in the registry, under every tag in `tags`, followed by any small `extraLayers`
 * (pushed here). Config, manifest and extras are tiny, so the fixtures' in-memory pusher does it.
 */
export async function pushBenchImage(login: HarborLogin, repository: string, layer: BenchLayer, tags: string[], extraLayers: BuiltLayer[] = []): Promise<BenchImage> {
  const pusher = createRegistryPusher(login);
  const mediaType = MEDIA_TYPES.ociLayerGzip;
  const config = blob(
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [layer.diffId, ...extraLayers.map((extra) => extra.diffId)] } })),
    MEDIA_TYPES.ociConfig,
  );
  await pusher.pushBlob(repository, config);
  const extras = extraLayers.map((extra) => blob(extra.bytes, mediaType));
  for (const extra of extras) await pusher.pushBlob(repository, extra);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: descriptor(config),
      layers: [{ mediaType, digest: layer.digest, size: layer.size }, ...extras.map(descriptor)],
    }),
  );
  const manifestDigest = digestOf(manifest);
  for (const tag of tags) await pusher.pushManifest(repository, tag, MEDIA_TYPES.ociManifest, manifest, manifestDigest);
  return { repository, tags, manifestDigest, layer: { ...layer, mediaType } };
}
