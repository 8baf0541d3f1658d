import { RelayError } from '../../shared/errors.ts';
import { canonicalRegistry, type ImageRef } from '../../shared/image-ref.ts';
import type { Platform } from '../../shared/platform.ts';
import { createRegistryClient, type Descriptor } from '../../shared/registry/registry-client.ts';
import type { ClientSettings } from './client-settings.ts';
import type { GetSource } from './relay-source.ts';

/**
 * Restarts of the whole image from zero. The registry client resumes a dropped blob itself, but some
 * failures it leaves to its caller with a retryable error (a server that ignores Range after a reset,
 * F2; a digest mismatch): the worker has SQS redelivery behind it, `get --direct` has only this.
 */
export const DIRECT_RESTARTS = 2;

/**
 * Straight from Harbor with the relay's own registry client (same auth, manifest, platform and
 * redirect rules). Retries and resumes of a dropped blob are the registry client's (design.md §5.3);
 * its resumes are reported to the layer being read, as the relay path's are.
 */
export function createDirectSource(options: { settings: ClientSettings; ref: ImageRef; platform: Platform }): GetSource {
  const { harborUrl, harborCredentials } = options.settings;
  if (!harborUrl) throw new RelayError('CONFIG_INVALID', 'HARBOR_URL is not set: --direct fetches from Harbor itself (set it in the environment or the credentials file)');
  let host: string;
  try {
    host = new URL(harborUrl).host;
  } catch {
    throw new RelayError('CONFIG_INVALID', 'HARBOR_URL is not a URL, e.g. https://harbor.example.com');
  }
  if (canonicalRegistry(host) !== options.ref.registry) {
    throw new RelayError('REGISTRY_NOT_ALLOWED', `the image names registry ${options.ref.registry}, but HARBOR_URL is ${host}`);
  }
  // Layers are read one at a time, so the client's one onResume reports to the layer opened last.
  let reportResume: ((offset: number, attempt: number) => void) | undefined;
  let resumes = 0;
  const client = createRegistryClient({ baseUrl: harborUrl, credentials: harborCredentials, onResume: (offset) => reportResume?.(offset, ++resumes) });
  const descriptors = new Map<string, Descriptor>();
  return {
    async resolve() {
      const resolved = await client.resolve(options.ref, options.platform);
      for (const layer of resolved.layers) descriptors.set(layer.digest, layer);
      return { manifestDigest: resolved.manifestDigest, layers: resolved.layers.map(({ digest, size, mediaType }) => ({ digest, size, mediaType })) };
    },
    async openLayer(layer, onResume) {
      const descriptor = descriptors.get(layer.digest);
      if (!descriptor) throw new RelayError('INTERNAL', `layer ${layer.digest} was not resolved`);
      reportResume = onResume;
      resumes = 0;
      return client.openBlob(options.ref, descriptor);
    },
    restarts: DIRECT_RESTARTS,
    close: () => client.close(),
  };
}
