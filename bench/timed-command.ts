import { spawn } from 'node:child_process';

/** What a timed command printed and how long it took, wall clock. */
export interface TimedRun {
  ms: number;
  stdout: string;
}

/** Options of {@link runTimed}. */
export interface TimedCommandOptions {
  /** Variables for the command; secrets travel here, never inside the script text. */
  env?: Record<string, string>;
  cwd?: string;
  /** Aborting kills the whole process group (a shell pipeline's curl and tee included). */
  signal?: AbortSignal;
}

/** stdout is kept for hashes and JSON reports; a runaway command is cut here. */
const MAX_STDOUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs `command args` in its own process group and times it from spawn to exit. Fails with the
 * command's stderr when it exits non-zero, so a broken baseline cannot pass as a fast one.
 */
export function runTimed(command: string, args: string[], options: TimedCommandOptions = {}): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const started = performance.now();
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => {
      if (outBytes < MAX_STDOUT_BYTES) out.push(chunk);
      outBytes += chunk.length;
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const onAbort = () => {
      try {
        process.kill(-(child.pid ?? 0), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (code, signal) => {
      const ms = performance.now() - started;
      options.signal?.removeEventListener('abort', onAbort);
      if (code !== 0) {
        const stderr = Buffer.concat(err).toString('utf8').trim().slice(-2000);
        reject(new Error(`${command} ${args[0] === '-c' ? '(script)' : args.slice(0, 2).join(' ')} exited ${code ?? signal}: ${stderr}`));
        return;
      }
      resolve({ ms, stdout: Buffer.concat(out).toString('utf8') });
    });
  });
}

/** Runs a bash script with `set -euo pipefail`, so a failing curl fails the pipeline. */
export function runBash(script: string, options: TimedCommandOptions = {}): Promise<TimedRun> {
  return runTimed('bash', ['-c', `set -euo pipefail\n${script}`], options);
}
