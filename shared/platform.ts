import { RelayError } from './errors.ts';

/** A target platform, normalised the way containerd's `platforms` package does it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  /** `v7`, `v8`...; absent when the architecture has no variants or the default one is meant. */
  readonly variant?: string;
}

/** What a host gets when it does not say: the most common server platform. */
export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

const PART = /^[a-z0-9._-]{1,32}$/;

/** Parses `os/arch[/variant]` (case-insensitive) and normalises aliases (`aarch64` → `arm64`). */
export function parsePlatform(input: string): Platform {
  const parts = input.trim().toLowerCase().split('/');
  if (parts.length < 2 || parts.length > 3 || !parts.every((part) => PART.test(part))) {
    throw new RelayError('INVALID_PLATFORM', `platform "${input.slice(0, 100)}" is not os/arch[/variant], e.g. linux/arm64 or linux/arm/v7`);
  }
  return normalizePlatform({ os: parts[0]!, architecture: parts[1]!, variant: parts[2] });
}

/** `os/arch[/variant]`. */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** containerd's aliases: x86_64 → amd64 (v1 is amd64's default), aarch64 → arm64 (v8 is arm64's default), bare arm → v7. */
export function normalizePlatform(platform: { os?: string; architecture?: string; variant?: string | undefined }): Platform {
  const os = (platform.os ?? '').toLowerCase();
  let architecture = (platform.architecture ?? '').toLowerCase();
  let variant = (platform.variant ?? '').toLowerCase();
  if (/^\d/.test(variant)) variant = `v${variant}`;
  switch (architecture) {
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'i386':
      architecture = '386';
      break;
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64';
      if (variant === 'v8' || variant === 'v8.0') variant = '';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '') variant = 'v7';
      break;
  }
  return variant === '' ? { os, architecture } : { os, architecture, variant };
}

/** An index entry as far as platform choice cares (OCI image-index and Docker manifest list). */
export interface PlatformCandidate {
  readonly platform?: { os?: string; architecture?: string; variant?: string } | undefined;
  readonly annotations?: Record<string, string> | undefined;
}

/**
 * Picks the one entry for `want`:
 * 1. attestation entries (`unknown/unknown`, buildx's `vnd.docker.reference.type`) are never chosen;
 * 2. an exact os/arch/variant match wins;
 * 3. for arm and amd64, a lower variant runs on a higher CPU (v6 code on a v7 host, x86-64-v2 code
 *    on a v3 host), never the reverse; the highest lower one wins;
 * 4. an entry without any platform matches only when it is the only real entry.
 * No match throws PLATFORM_NOT_FOUND listing the platforms that exist.
 */
export function selectPlatform<T extends PlatformCandidate>(entries: readonly T[], want: Platform): T {
  const real = entries.filter((entry) => !isAttestation(entry));
  const wanted = normalizePlatform(want);
  let best: { entry: T; rank: number } | undefined;
  for (const entry of real) {
    if (entry.platform === undefined) continue;
    const rank = matchRank(wanted, normalizePlatform(entry.platform));
    if (rank > 0 && (best === undefined || rank > best.rank)) best = { entry, rank };
  }
  if (best) return best.entry;
  const only = real[0];
  if (real.length === 1 && only !== undefined && only.platform === undefined) return only;
  const available = real.map((entry) => (entry.platform ? formatPlatform(normalizePlatform(entry.platform)) : '(no platform)'));
  throw new RelayError(
    'PLATFORM_NOT_FOUND',
    `no manifest for platform ${formatPlatform(wanted)}; available: ${available.length ? available.join(', ') : 'none'}`,
    { details: { platform: formatPlatform(wanted), available } },
  );
}

/** buildx stores provenance/SBOM manifests in the index under `unknown/unknown`. */
export function isAttestation(entry: PlatformCandidate): boolean {
  if (entry.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return true;
  return entry.platform?.os === 'unknown' || entry.platform?.architecture === 'unknown';
}

/** 0: no match; higher is better. Exact variant beats a lower variant, which beats a lower one still. */
function matchRank(want: Platform, have: Platform): number {
  if (want.os !== have.os || want.architecture !== have.architecture) return 0;
  const wantVariant = want.variant ?? '';
  const haveVariant = have.variant ?? '';
  if (wantVariant === haveVariant) return 100;
  const wantLevel = variantLevel(want.architecture, wantVariant);
  const haveLevel = variantLevel(have.architecture, haveVariant);
  if (wantLevel !== undefined && haveLevel !== undefined && haveLevel < wantLevel) return haveLevel;
  return 0;
}

/**
 * The level of an arm (`v5`..`v8`) or amd64 (x86-64 microarchitecture levels `v1`..`v4`, no variant
 * being v1 as in containerd) variant; undefined for other architectures and unknown variants.
 */
function variantLevel(architecture: string, variant: string): number | undefined {
  if (architecture === 'amd64' && variant === '') return 1;
  if (architecture !== 'arm' && architecture !== 'amd64') return undefined;
  const match = /^v(\d+)$/.exec(variant);
  return match ? Number(match[1]) : undefined;
}
