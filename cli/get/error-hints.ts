import type { ErrorCode } from '../../shared/errors.ts';

/** One line of advice per error code a host is likely to meet; printed under the error. */
const HINTS: Partial<Record<ErrorCode, string>> = {
  IMAGE_NOT_FOUND: 'check the repository and tag (the reference starts with the Harbor host: harbor.example.com/team/app:1.0)',
  DENIED: 'check the credentials: LAYER_RELAY_USERNAME/LAYER_RELAY_PASSWORD for the relay, HARBOR_USERNAME/HARBOR_PASSWORD with --direct',
  UNAUTHENTICATED: 'the relay wants credentials: LAYER_RELAY_TOKEN (RELAY_AUTH=token) or LAYER_RELAY_USERNAME/LAYER_RELAY_PASSWORD (your Harbor login, RELAY_AUTH=harbor)',
  FORBIDDEN: 'these credentials may not pull this repository; ask for pull access in Harbor or a token that covers it',
  PLATFORM_NOT_FOUND: 'choose one of the listed platforms with --platform os/arch[/variant]',
  REGISTRY_NOT_ALLOWED: 'the image must be on the Harbor the relay serves (with --direct: the host of HARBOR_URL)',
  RELAY_UNAVAILABLE: 'is the relay running? check --relay or LAYER_RELAY_URL',
  REGISTRY_UNAVAILABLE: 'Harbor did not answer; try again later, or check HARBOR_URL',
  RATE_LIMITED: 'Harbor is rate limiting; try again in a minute',
  DIGEST_MISMATCH: 'the bytes are not the ones the manifest names, so nothing was written; try again, and report it if it repeats',
  SIZE_MISMATCH: 'the bytes are not the ones the manifest names, so nothing was written; try again, and report it if it repeats',
  UNSAFE_ENTRY: 'the layer tries to write outside the output directory; it was refused and the output directory was not changed',
  LIMIT_EXCEEDED: 'if the layer is genuine, raise --max-entries / --max-bytes',
  LAYER_INVALID: 'the layer is not a tar archive that can be extracted; the output directory was not changed',
  DOWNLOAD_FAILED: 'the connection kept failing; run the command again',
  URL_EXPIRED: 'the signed URL expired; run the command again',
  OUTPUT_REFUSED: 'choose another --output directory',
  CONFIG_INVALID: 'see `layer-relay get --help` for the settings and the credentials file',
  UNSUPPORTED_MANIFEST: 'layer-relay reads Docker v2 and OCI manifests and indexes only',
};

/** The hint for `code`, when there is one. */
export function hintFor(code: ErrorCode): string | undefined {
  return HINTS[code];
}
