import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian packages the stand-in and the fixtures use (design.md §8). */
const APT_PACKAGES = ['docker-registry', 'skopeo', 'zstd', 'busybox-static'] as const;
const COMMANDS = ['docker-registry', 'skopeo', 'zstd'] as const;
/** busybox-static installs a statically linked binary here for the machine's own architecture. */
const HOST_BUSYBOX = '/bin/busybox';
/** Where foreign-architecture busybox binaries are cached, one per architecture, across runs. */
export const BUSYBOX_CACHE_DIR = '/var/cache/layer-relay';

/** Paths of the real static busybox binaries the `busybox` fixture packs, by Debian architecture. */
export interface SystemDeps {
  busyboxAmd64: string;
  busyboxArm64: string;
}

/**
 * Makes sure the tools and binaries the integration tests need are present. As root with apt-get it
 * installs what is missing; otherwise it throws with the exact commands to run.
 */
export function ensureSystemDeps(): SystemDeps {
  const hostArch = debianArch();
  const missingPackages = [
    ...COMMANDS.filter((command) => !onPath(command)),
    ...(existsSync(HOST_BUSYBOX) ? [] : ['busybox-static']),
  ];
  const canInstall = process.getuid?.() === 0 && onPath('apt-get');
  if (missingPackages.length > 0) {
    const install = ['apt-get update', `apt-get install -y --no-install-recommends ${APT_PACKAGES.join(' ')}`];
    if (!canInstall) throw new Error(`missing ${missingPackages.join(', ')}; run as root:\n  ${install.join('\n  ')}`);
    sh('apt-get', ['update', '-qq']);
    sh('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...APT_PACKAGES]);
  }
  const busybox = (arch: string) => (arch === hostArch ? HOST_BUSYBOX : ensureForeignBusybox(arch, canInstall));
  return { busyboxAmd64: busybox('amd64'), busyboxArm64: busybox('arm64') };
}

/** The cached `bin/busybox` of busybox-static for `arch`, taken out of the .deb (`dpkg-deb -x`). */
function ensureForeignBusybox(arch: string, canInstall: boolean): string {
  const target = join(BUSYBOX_CACHE_DIR, `busybox-${arch}`);
  if (existsSync(target)) return target;
  const commands = [
    `dpkg --add-architecture ${arch}`,
    'apt-get update',
    `cd "$(mktemp -d)" && apt-get download busybox-static:${arch} && dpkg-deb -x busybox-static_*.deb x`,
    `mkdir -p ${BUSYBOX_CACHE_DIR} && cp x/bin/busybox ${target}`,
  ];
  if (!canInstall) throw new Error(`missing the ${arch} busybox binary ${target}; run as root:\n  ${commands.join('\n  ')}`);
  const work = mkdtempSync(join(tmpdir(), `busybox-${arch}-`));
  try {
    const download = () => spawnSync('apt-get', ['download', `busybox-static:${arch}`], { cwd: work, stdio: 'pipe' }).status === 0;
    if (!download()) {
      // apt only knows a foreign architecture's packages once it is added and the lists are fetched.
      sh('dpkg', ['--add-architecture', arch]);
      sh('apt-get', ['update', '-qq']);
      if (!download()) throw new Error(`apt-get download busybox-static:${arch} failed; try:\n  ${commands.join('\n  ')}`);
    }
    const deb = readdirSync(work).find((name) => name.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download busybox-static:${arch} produced no .deb`);
    sh('dpkg-deb', ['-x', join(work, deb), join(work, 'x')]);
    mkdirSync(BUSYBOX_CACHE_DIR, { recursive: true });
    copyFileSync(join(work, 'x', 'bin', 'busybox'), `${target}.tmp`);
    chmodSync(`${target}.tmp`, 0o755);
    renameSync(`${target}.tmp`, target); // atomic: a parallel run never sees half a binary
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function debianArch(): string {
  const result = spawnSync('dpkg', ['--print-architecture'], { encoding: 'utf8' });
  if (result.status === 0) return result.stdout.trim();
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

function sh(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
