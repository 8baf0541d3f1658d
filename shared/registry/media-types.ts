/**
 * Media types of manifests and layers (OCI image-spec `media-types.md`, Docker image manifest
 * v2 schema 2). Registries label what they serve with these; we decide by them, not by guessing.
 */

/** The four manifest types we accept: every manifest request sends all of them in Accept (field case B1). */
export const MANIFEST_MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** One of the four accepted manifest media types. */
export type ManifestMediaType = (typeof MANIFEST_MEDIA_TYPES)[keyof typeof MANIFEST_MEDIA_TYPES];

/** The Accept header value for every manifest request. */
export const MANIFEST_ACCEPT = Object.values(MANIFEST_MEDIA_TYPES).join(', ');

/** Docker schema 1 types: deprecated, refused with UNSUPPORTED_MANIFEST (distribution stopped serving them in 3.0). */
export const SCHEMA1_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
]);

/** Layer media types, as pushed by docker, buildx, containerd, skopeo and crane. */
export const LAYER_MEDIA_TYPES = {
  dockerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  /** zstd "spelled the Docker way" inside a Docker manifest (field case D1). */
  dockerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  dockerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerForeignTar: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
  ociTar: 'application/vnd.oci.image.layer.v1.tar',
  ociGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociNondistributableTar: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  ociNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociNondistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
} as const;

/** The compression a layer media type declares. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

/**
 * The compression `mediaType` declares, or undefined for a type that is not a tar layer (an
 * artifact blob). Extraction still checks the magic bytes; copying never decompresses.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case LAYER_MEDIA_TYPES.dockerGzip:
    case LAYER_MEDIA_TYPES.dockerForeignGzip:
    case LAYER_MEDIA_TYPES.ociGzip:
    case LAYER_MEDIA_TYPES.ociNondistributableGzip:
      return 'gzip';
    case LAYER_MEDIA_TYPES.dockerZstd:
    case LAYER_MEDIA_TYPES.ociZstd:
    case LAYER_MEDIA_TYPES.ociNondistributableZstd:
      return 'zstd';
    case LAYER_MEDIA_TYPES.dockerForeignTar:
    case LAYER_MEDIA_TYPES.ociTar:
    case LAYER_MEDIA_TYPES.ociNondistributableTar:
      return 'none';
    default:
      return undefined;
  }
}
