import { RelayError } from './errors.ts';

/** Docker's overlay2 stacks at most 128 lower layers; an image with more cannot run anywhere either. */
export const DEFAULT_MAX_LAYERS = 128;
/** 10 GiB: far above the build outputs the relay carries, low enough that a pushed disk image is refused, not stored. */
export const DEFAULT_MAX_BLOB_BYTES = 10 * 1024 ** 3;

/** What one pull may bring into the store (RELAY_MAX_LAYERS, RELAY_MAX_BLOB_BYTES). */
export interface PullLimits {
  maxLayers: number;
  maxBlobBytes: number;
}

/**
 * Refuses a resolved image that exceeds the limits, before any byte is copied. The descriptor
 * size is enough to decide: the store's verifying stream refuses a blob longer than its
 * descriptor says (field case E3), so no blob can grow past the limit while it is copied.
 */
export function checkPullLimits(layers: readonly { digest: string; size: number }[], limits: PullLimits): void {
  if (layers.length > limits.maxLayers) {
    throw new RelayError('TOO_MANY_LAYERS', `the image has ${layers.length} layers; this relay accepts at most ${limits.maxLayers} (RELAY_MAX_LAYERS)`, {
      details: { layers: layers.length, maxLayers: limits.maxLayers },
    });
  }
  const large = layers.find((layer) => layer.size > limits.maxBlobBytes);
  if (large) {
    throw new RelayError('BLOB_TOO_LARGE', `layer ${large.digest} is ${large.size} bytes; this relay accepts at most ${limits.maxBlobBytes} (RELAY_MAX_BLOB_BYTES)`, {
      details: { digest: large.digest, size: large.size, maxBlobBytes: limits.maxBlobBytes },
    });
  }
}
