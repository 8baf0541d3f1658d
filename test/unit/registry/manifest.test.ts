import { describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError, type RelayError } from '../../../shared/errors.ts';
import { LAYER_MEDIA_TYPES, MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES, layerCompression, parseManifest } from '../../../shared/registry/manifest.ts';

const layer = { mediaType: LAYER_MEDIA_TYPES.ociGzip, digest: digestOf('layer bytes'), size: 11 };
const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('{}'), size: 2 };
const dockerConfig = { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf('{}'), size: 2 };
const child = { mediaType: MANIFEST_MEDIA_TYPES.ociManifest, digest: digestOf('child'), size: 5, platform: { os: 'linux', architecture: 'amd64' } };

const image = (extra: object = {}) => ({ schemaVersion: 2, config, layers: [layer], ...extra });
const index = (extra: object = {}) => ({ schemaVersion: 2, manifests: [child], ...extra });
const bytes = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));

function failure(body: unknown, contentType: string | undefined): RelayError {
  try {
    parseManifest(bytes(body), contentType);
  } catch (err) {
    if (isRelayError(err)) return err;
    throw err;
  }
  throw new Error('parseManifest did not throw');
}

describe('parseManifest: type detection', () => {
  const cases: Array<{ name: string; body: object; contentType: string | undefined; kind: 'image' | 'index'; mediaType: string }> = [
    { name: 'by Content-Type: OCI manifest', body: image(), contentType: MANIFEST_MEDIA_TYPES.ociManifest, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
    { name: 'by Content-Type: Docker v2', body: image(), contentType: MANIFEST_MEDIA_TYPES.dockerManifest, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.dockerManifest },
    { name: 'by Content-Type: OCI index', body: index(), contentType: MANIFEST_MEDIA_TYPES.ociIndex, kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.ociIndex },
    { name: 'by Content-Type: Docker list', body: index(), contentType: MANIFEST_MEDIA_TYPES.dockerManifestList, kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList },
    { name: 'Content-Type with parameters', body: image(), contentType: `${MANIFEST_MEDIA_TYPES.ociManifest}; charset=utf-8`, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
    { name: 'Content-Type wins over the body', body: image({ mediaType: MANIFEST_MEDIA_TYPES.dockerManifest }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
    { name: 'by body mediaType when Content-Type is application/json', body: index({ mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList }), contentType: 'application/json', kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.dockerManifestList },
    { name: 'by body mediaType when Content-Type is missing', body: image({ mediaType: MANIFEST_MEDIA_TYPES.dockerManifest }), contentType: undefined, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.dockerManifest },
    { name: 'by shape: manifests[] → OCI index', body: index(), contentType: 'text/plain', kind: 'index', mediaType: MANIFEST_MEDIA_TYPES.ociIndex },
    { name: 'by shape: layers[] → OCI manifest', body: image(), contentType: undefined, kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest },
    { name: 'by shape: layers[] with a Docker config → Docker v2', body: image({ config: dockerConfig }), contentType: 'application/octet-stream', kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.dockerManifest },
  ];
  it.each(cases)('$name', ({ body, contentType, kind, mediaType }) => {
    const manifest = parseManifest(bytes(body), contentType);
    expect(manifest.kind).toBe(kind);
    expect(manifest.mediaType).toBe(mediaType);
  });

  it('returns the descriptors of an image, urls and annotations kept', () => {
    const foreign = { ...layer, mediaType: LAYER_MEDIA_TYPES.dockerForeignGzip, urls: ['https://example.com/l.tgz'], annotations: { a: 'b' } };
    const manifest = parseManifest(bytes(image({ layers: [layer, foreign] })), MANIFEST_MEDIA_TYPES.ociManifest);
    expect(manifest).toEqual({ kind: 'image', mediaType: MANIFEST_MEDIA_TYPES.ociManifest, config, layers: [layer, foreign] });
  });

  it('keeps index entries without platform (field case C3) and their platform fields', () => {
    const bare = { mediaType: MANIFEST_MEDIA_TYPES.ociManifest, digest: digestOf('bare'), size: 4 };
    const manifest = parseManifest(bytes(index({ manifests: [child, bare] })), MANIFEST_MEDIA_TYPES.ociIndex);
    expect(manifest.kind === 'index' && manifest.manifests).toEqual([child, bare]);
  });

  it('accepts sha512 digests (field case E1)', () => {
    const l512 = { ...layer, digest: digestOf('layer bytes', 'sha512') };
    const manifest = parseManifest(bytes(image({ layers: [l512] })), MANIFEST_MEDIA_TYPES.ociManifest);
    expect(manifest.kind === 'image' && manifest.layers[0]?.digest).toBe(l512.digest);
  });

  it('the Accept value carries all four types', () => {
    for (const type of Object.values(MANIFEST_MEDIA_TYPES)) expect(MANIFEST_ACCEPT).toContain(type);
  });
});

describe('parseManifest: refusals', () => {
  const schema1 = { schemaVersion: 1, name: 'p/app', tag: 'v1', fsLayers: [{ blobSum: digestOf('x') }], history: [] };
  const cases: Array<{ name: string; body: unknown; contentType: string | undefined; code: string; mentions: string }> = [
    { name: 'schema1 by Content-Type (prettyjws)', body: schema1, contentType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', code: 'UNSUPPORTED_MANIFEST', mentions: 'manifest.v1+prettyjws' },
    { name: 'schema1 by body mediaType', body: { ...schema1, mediaType: 'application/vnd.docker.distribution.manifest.v1+json' }, contentType: 'application/json', code: 'UNSUPPORTED_MANIFEST', mentions: 'manifest.v1+json' },
    { name: 'schema1 by shape', body: schema1, contentType: undefined, code: 'UNSUPPORTED_MANIFEST', mentions: 'schema 1' },
    { name: 'unknown vendor Content-Type', body: image(), contentType: 'application/vnd.oci.artifact.manifest.v1+json', code: 'UNSUPPORTED_MANIFEST', mentions: 'application/vnd.oci.artifact.manifest.v1+json' },
    { name: 'unknown body mediaType', body: image({ mediaType: 'application/vnd.example.thing+json' }), contentType: undefined, code: 'UNSUPPORTED_MANIFEST', mentions: 'application/vnd.example.thing+json' },
    { name: 'no type and no known shape', body: { schemaVersion: 2, blobs: [] }, contentType: undefined, code: 'UNSUPPORTED_MANIFEST', mentions: 'unknown' },
    { name: 'malformed JSON', body: '{"schemaVersion": 2, "layers": [', contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'JSON' },
    { name: 'HTML instead of JSON', body: '<html><body>404</body></html>', contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'JSON' },
    { name: 'JSON array', body: '[]', contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'object' },
    { name: 'an index body under an image Content-Type', body: index(), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'config' },
    { name: 'negative size', body: image({ layers: [{ ...layer, size: -1 }] }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'layers.0.size' },
    { name: 'size beyond a safe integer', body: image({ layers: [{ ...layer, size: 2 ** 60 }] }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'layers.0.size' },
    { name: 'fractional size', body: image({ layers: [{ ...layer, size: 1.5 }] }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'layers.0.size' },
    { name: 'malformed digest', body: image({ config: { ...config, digest: 'sha256:abc' } }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'config.digest' },
    { name: 'unknown digest algorithm', body: index({ manifests: [{ ...child, digest: `md5:${'a'.repeat(32)}` }] }), contentType: MANIFEST_MEDIA_TYPES.ociIndex, code: 'UNSUPPORTED_DIGEST_ALGORITHM', mentions: 'md5' },
    { name: 'missing layer mediaType', body: image({ layers: [{ digest: layer.digest, size: 1 }] }), contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'layers.0.mediaType' },
    { name: 'schemaVersion 2 missing', body: { config, layers: [layer] }, contentType: MANIFEST_MEDIA_TYPES.ociManifest, code: 'MANIFEST_INVALID', mentions: 'schemaVersion' },
  ];
  it.each(cases)('$name → $code', ({ body, contentType, code, mentions }) => {
    const err = failure(body, contentType);
    expect(err.code).toBe(code);
    expect(err.message).toContain(mentions);
  });
});

describe('layerCompression', () => {
  it.each([
    [LAYER_MEDIA_TYPES.dockerGzip, 'gzip'],
    [LAYER_MEDIA_TYPES.dockerZstd, 'zstd'],
    [LAYER_MEDIA_TYPES.dockerForeignGzip, 'gzip'],
    [LAYER_MEDIA_TYPES.ociTar, 'none'],
    [LAYER_MEDIA_TYPES.ociGzip, 'gzip'],
    [LAYER_MEDIA_TYPES.ociZstd, 'zstd'],
    ['application/vnd.example.artifact', undefined],
  ])('%s → %s', (mediaType, want) => {
    expect(layerCompression(mediaType)).toBe(want);
  });
});
