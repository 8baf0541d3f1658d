import { DEFAULT_PLATFORM, normalizePlatform, type Platform } from '../../shared/platform.ts';

/** Node's `process.arch` → OCI architecture (and variant) names (image-spec config.md, Go's GOARCH). */
const ARCHITECTURES: Record<string, { architecture: string; variant?: string }> = {
  x64: { architecture: 'amd64' },
  arm64: { architecture: 'arm64' },
  arm: { architecture: 'arm', variant: 'v7' },
  ia32: { architecture: '386' },
  ppc64: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
};
/** Node's `process.platform` → OCI os names. */
const OPERATING_SYSTEMS: Record<string, string> = { linux: 'linux', darwin: 'darwin', win32: 'windows', freebsd: 'freebsd' };

/**
 * The platform of the machine running `get`: the binary is fetched to run here, as `docker pull`
 * defaults to its daemon's platform. Unknown combinations fall back to linux/amd64.
 */
export function hostPlatform(platform: string = process.platform, arch: string = process.arch): Platform {
  const os = OPERATING_SYSTEMS[platform];
  const cpu = ARCHITECTURES[arch];
  if (os === undefined || cpu === undefined) return DEFAULT_PLATFORM;
  return normalizePlatform({ os, ...cpu });
}
