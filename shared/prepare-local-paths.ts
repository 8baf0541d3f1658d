import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, sep } from 'node:path';
import { configError, type RelayConfig } from './config.ts';

/**
 * Creates the local store directory and the SQLite queue's directory, and checks both are usable,
 * so that a bad RELAY_STORE or RELAY_QUEUE stops `serve` with CONFIG_INVALID naming the variable
 * instead of INTERNAL and a bare errno (ENOTDIR, EEXIST, EACCES). Every problem is reported at once.
 */
export function prepareLocalPaths(config: Pick<RelayConfig, 'store' | 'queue'>): void {
  const problems: string[] = [];
  if (config.store.kind === 'file') {
    const dir = config.store.dir;
    check(problems, 'RELAY_STORE', dir, () => makeWritableDirectory(dir));
  }
  const insideFailedStore = (path: string) => config.store.kind === 'file' && problems.length > 0 && path.startsWith(config.store.dir + sep);
  // The default queue lives in the store directory: its failure is the store's, reported once.
  if (config.queue.kind === 'sqlite' && config.queue.path !== ':memory:' && !insideFailedStore(config.queue.path)) {
    const path = config.queue.path;
    check(problems, 'RELAY_QUEUE', path, () => {
      makeWritableDirectory(dirname(path));
      if (existsSync(path) && statSync(path).isDirectory()) throw new Error('it is a directory, not a database file');
      if (existsSync(path)) accessSync(path, constants.R_OK | constants.W_OK);
    });
  }
  if (problems.length > 0) throw configError(problems);
}

function check(problems: string[], name: string, path: string, prepare: () => void): void {
  try {
    prepare();
  } catch (err) {
    problems.push(`${name}: cannot use ${path}: ${describe(err as NodeJS.ErrnoException)}`);
  }
}

/**
 * mkdir -p, one level at a time from the nearest existing ancestor: that ancestor is named when it
 * is a file, and Node's recursive mkdirSync is avoided (it spins forever under /proc).
 */
function makeWritableDirectory(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  while (!existsSync(at) && dirname(at) !== at) {
    missing.unshift(at);
    at = dirname(at);
  }
  if (!statSync(at).isDirectory()) throw new Error(`${at} is a file, not a directory`);
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (err) {
      // Another relay on the same store may have just made it.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(level).isDirectory()) throw err;
    }
  }
  accessSync(dir, constants.W_OK | constants.X_OK);
}

function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case undefined:
      return err.message;
    case 'EACCES':
    case 'EPERM':
      return `no permission to create or write ${err.path ?? 'it'}`;
    case 'ENOENT':
      // The parent exists (checked above), so the file system itself refuses (procfs, sysfs).
      return `${err.path ?? 'it'} cannot be created there (ENOENT)`;
    case 'EROFS':
      return `${err.path ?? 'it'} is on a read-only file system`;
    case 'ENOTDIR':
      return `a part of ${err.path ?? 'the path'} is not a directory`;
    default:
      return `${err.code} on ${err.path ?? 'it'}`;
  }
}
