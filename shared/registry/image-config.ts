import type { PlatformCandidate } from '../platform.ts';

/**
 * The platform an image config declares (OCI image-spec `config.md`: `os`, `architecture`,
 * `variant`). Used to check a tag that names a single image manifest, not an index, against the
 * platform asked for: without the check a linux/amd64 pull of an arm64-only tag would "succeed".
 */

/** Config media types that carry os/architecture; other configs (artifacts) are not read. */
export const IMAGE_CONFIG_MEDIA_TYPES: ReadonlySet<string> = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);

/** Image configs are small JSON; 4 MiB bounds one with an absurd history, as for manifests. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

/**
 * The config's platform as an index-entry candidate, or undefined when the config does not say
 * both os and architecture (or is not a JSON object): such a config matches any platform.
 */
export function configPlatform(bytes: Uint8Array): PlatformCandidate | undefined {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { os, architecture, variant } = body as { os?: unknown; architecture?: unknown; variant?: unknown };
  if (typeof os !== 'string' || os === '' || typeof architecture !== 'string' || architecture === '') return undefined;
  return { platform: { os, architecture, ...(typeof variant === 'string' && variant !== '' ? { variant } : {}) } };
}
