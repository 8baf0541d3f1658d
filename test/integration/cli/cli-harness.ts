import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../../cli/main.ts';

/** What one in-process CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** A scratch working directory with its own HOME, so no real credentials file is ever read. */
export function cliWorkspace(): { cwd: string; home: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'layer-relay-get-'));
  return { cwd, home: join(cwd, 'home') };
}

/** Runs `layer-relay ...argv` in-process through run(argv, io). */
export async function runCli(argv: string[], options: { cwd: string; env?: Record<string, string>; isTTY?: boolean; signal?: AbortSignal }): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: { HOME: join(options.cwd, 'home'), ...options.env },
    cwd: options.cwd,
    signal: options.signal ?? new AbortController().signal,
    ...(options.isTTY === undefined ? {} : { isTTY: options.isTTY }),
  });
  return { code, stdout, stderr };
}

/** Every path under `dir` with its kind, permission bits, and content hash or link target. */
export function snapshotTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const info = lstatSync(join(dir, path));
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isSymbolicLink()) out[path] = `symlink -> ${readlinkSync(join(dir, path))}`;
      else if (info.isDirectory()) {
        out[path] = `dir ${mode}`;
        walk(path);
      } else out[path] = `file ${mode} ${createHash('sha256').update(readFileSync(join(dir, path))).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

