import { z } from 'zod';
import { RelayError } from '../errors.ts';
import { descriptorSchema, indexEntrySchema, type Descriptor, type IndexEntry } from './descriptor.ts';
import { MANIFEST_MEDIA_TYPES, SCHEMA1_MEDIA_TYPES, type ManifestMediaType } from './media-types.ts';

export { LAYER_MEDIA_TYPES, MANIFEST_ACCEPT, MANIFEST_MEDIA_TYPES, SCHEMA1_MEDIA_TYPES, layerCompression } from './media-types.ts';
export type { Descriptor, IndexEntry } from './descriptor.ts';

/** A parsed manifest: an index (OCI index / Docker manifest list) or an image manifest. */
export type Manifest =
  | { readonly kind: 'index'; readonly mediaType: ManifestMediaType; readonly manifests: readonly IndexEntry[] }
  | { readonly kind: 'image'; readonly mediaType: ManifestMediaType; readonly config: Descriptor; readonly layers: readonly Descriptor[] };

const INDEX_TYPES: ReadonlySet<string> = new Set([MANIFEST_MEDIA_TYPES.ociIndex, MANIFEST_MEDIA_TYPES.dockerManifestList]);
const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(MANIFEST_MEDIA_TYPES));
/** Content-Types that say nothing about the manifest: decide from the body instead. */
const GENERIC_CONTENT_TYPES: ReadonlySet<string> = new Set(['', 'application/json', 'text/plain', 'application/octet-stream', 'binary/octet-stream']);
/** Docker's image config type: a Docker v2 manifest without mediaType in its body still names it. */
const DOCKER_CONFIG_TYPE = 'application/vnd.docker.container.image.v1+json';

const indexSchema = z.object({ schemaVersion: z.literal(2), manifests: z.array(indexEntrySchema) });
const imageSchema = z.object({ schemaVersion: z.literal(2), config: descriptorSchema, layers: z.array(descriptorSchema) });

/**
 * Parses manifest bytes. The type is decided from the response Content-Type, then the body's
 * `mediaType`, then its shape (`manifests[]` vs `layers[]`), as containerd's remotes do.
 * Schema 1 and unknown types fail with UNSUPPORTED_MANIFEST naming the type (field case B4);
 * malformed JSON or descriptors fail with MANIFEST_INVALID; a digest with an unknown algorithm
 * fails with UNSUPPORTED_DIGEST_ALGORITHM.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): Manifest {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RelayError('MANIFEST_INVALID', `manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RelayError('MANIFEST_INVALID', 'manifest is not a JSON object');
  }
  const mediaType = manifestType(body as Record<string, unknown>, contentType);
  if (INDEX_TYPES.has(mediaType)) {
    const index = validate(indexSchema, body, mediaType);
    return { kind: 'index', mediaType, manifests: index.manifests };
  }
  const image = validate(imageSchema, body, mediaType);
  return { kind: 'image', mediaType, config: image.config, layers: image.layers };
}

/** The manifest's media type: 1) Content-Type, 2) body `mediaType`, 3) body shape. */
function manifestType(body: Record<string, unknown>, contentType: string | undefined): ManifestMediaType {
  const header = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!GENERIC_CONTENT_TYPES.has(header)) return known(header);
  if (typeof body.mediaType === 'string' && body.mediaType !== '') return known(body.mediaType);
  if (body.schemaVersion === 1) throw unsupported('Docker schema 1 (schemaVersion 1)');
  if (Array.isArray(body.manifests)) return MANIFEST_MEDIA_TYPES.ociIndex;
  if (Array.isArray(body.layers)) {
    const config = body.config as { mediaType?: unknown } | undefined;
    return config?.mediaType === DOCKER_CONFIG_TYPE ? MANIFEST_MEDIA_TYPES.dockerManifest : MANIFEST_MEDIA_TYPES.ociManifest;
  }
  throw unsupported('unknown (no media type, and neither manifests[] nor layers[])');
}

function known(mediaType: string): ManifestMediaType {
  if (KNOWN_TYPES.has(mediaType)) return mediaType as ManifestMediaType;
  if (SCHEMA1_MEDIA_TYPES.has(mediaType)) throw unsupported(`${mediaType} (Docker schema 1)`);
  throw unsupported(mediaType);
}

function unsupported(what: string): RelayError {
  const shown = what.length > 200 ? `${what.slice(0, 197)}...` : what;
  return new RelayError('UNSUPPORTED_MANIFEST', `unsupported manifest type ${shown}; supported: ${[...KNOWN_TYPES].join(', ')}`, {
    details: { mediaType: shown },
  });
}

function validate<T>(schema: z.ZodType<T>, body: unknown, mediaType: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.map(String).join('.') || '(root)';
  const relayCode = issue.code === 'custom' ? (issue.params as { relayCode?: string } | undefined)?.relayCode : undefined;
  const code = relayCode === 'UNSUPPORTED_DIGEST_ALGORITHM' ? relayCode : 'MANIFEST_INVALID';
  throw new RelayError(code, `${mediaType} manifest is invalid at ${where}: ${issue.message}`);
}
