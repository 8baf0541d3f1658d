import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';

/** Debian's package installs the CNCF distribution registry under this name. */
export const REGISTRY_BINARY = 'docker-registry';

/** How long the registry may take to answer `/v2/`; it is usually ready in well under a second. */
const READY_TIMEOUT_MS = 15_000;
const READY_POLL_MS = 50;
/** A port picked with `listen(0)` can be taken before the registry binds it; try a few. */
const START_ATTEMPTS = 3;

/** Token-auth settings the registry needs (distribution's `auth.token` section). */
export interface RegistryAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
}

/** A running `docker-registry serve` child. */
export interface RegistryProcess {
  /** `http://127.0.0.1:PORT` of the registry itself (not the front). */
  readonly origin: string;
  stop(): Promise<void>;
}

/** Writes a config into `dir`, starts the registry on a free loopback port, and waits until `/v2/` answers. */
export async function startRegistryProcess(dir: string, auth: RegistryAuthConfig): Promise<RegistryProcess> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freePort();
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, registryConfig(dir, port, auth));
    const logPath = join(dir, 'registry.log');
    const logFd = openSync(logPath, 'a');
    const child = spawnRegistry(configPath, logFd);
    closeSync(logFd);
    const origin = `http://127.0.0.1:${port}`;
    try {
      await waitUntilReady(origin, child, logPath);
      return { origin, stop: () => stopChild(child) };
    } catch (err) {
      lastError = err;
      await stopChild(child);
    }
  }
  throw lastError;
}

/** distribution 2.8 config: filesystem storage, token auth, quiet logs (they go to registry.log). */
function registryConfig(dir: string, port: number, auth: RegistryAuthConfig): string {
  const q = (value: string) => JSON.stringify(value); // JSON strings are valid YAML scalars
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  formatter: text',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(join(dir, 'storage'))}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: ${q(`127.0.0.1:${port}`)}`,
    `  secret: ${q(`standin-${process.pid}-${port}`)}`,
    'auth:',
    '  token:',
    `    realm: ${q(auth.realm)}`,
    `    service: ${q(auth.service)}`,
    `    issuer: ${q(auth.issuer)}`,
    `    rootcertbundle: ${q(auth.rootCertBundle)}`,
    '',
  ].join('\n');
}

/**
 * Starts the registry so it dies with us: `setpriv --pdeathsig KILL` (util-linux) makes the kernel
 * kill it when this process exits, even on SIGKILL; an exit hook covers systems without setpriv.
 */
function spawnRegistry(configPath: string, logFd: number): ChildProcess {
  const usePdeathsig = hasSetpriv();
  const command = usePdeathsig ? 'setpriv' : REGISTRY_BINARY;
  const args = usePdeathsig ? ['--pdeathsig', 'KILL', REGISTRY_BINARY, 'serve', configPath] : ['serve', configPath];
  const child = spawn(command, args, { stdio: ['ignore', logFd, logFd] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

let setprivKnown: boolean | undefined;
function hasSetpriv(): boolean {
  setprivKnown ??= spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
  return setprivKnown;
}

async function waitUntilReady(origin: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`docker-registry exited during startup; its log:\n${tail(logPath)}`);
    }
    try {
      const response = await fetch(`${origin}/v2/`);
      await response.body?.cancel();
      // With token auth an anonymous /v2/ answers 401 plus a Bearer challenge: that means it is up.
      if (response.status === 401 || response.status === 200) return;
    } catch {
      // not listening yet
    }
    await sleep(READY_POLL_MS);
  }
  throw new Error(`docker-registry did not answer within ${READY_TIMEOUT_MS} ms; its log:\n${tail(logPath)}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}


function tail(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}
