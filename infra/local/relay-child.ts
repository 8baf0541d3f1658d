import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A relay child that ignores SIGTERM this long is killed: the demo and the bench never leave one behind. */
export const STOP_GRACE_MS = 10_000;

/**
 * The Node flags `npm start` runs `serve` with (package.json's `start` script: `node FLAGS cli/main.ts
 * serve`), so the demo and the bench start the relay as operators do, from one place.
 */
export function serveNodeFlags(root: string): string[] {
  const { scripts } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const words = (scripts.start ?? '').split(/\s+/);
  const entry = words.indexOf('cli/main.ts');
  if (words[0] !== 'node' || entry < 0) throw new Error(`package.json's start script is not "node [FLAGS] cli/main.ts serve": ${scripts.start}`);
  return words.slice(1, entry);
}

/** SIGTERM, then SIGKILL after {@link STOP_GRACE_MS}; resolves once the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

/**
 * Resolves once the relay at `url` answers /healthz; fails when the child exits first or `timeoutMs`
 * passes. `describe` adds context to the failure (the bench appends the relay's log tail).
 */
export async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number, describe: () => string = () => ''): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`layer-relay serve exited with code ${child.exitCode}${describe()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`layer-relay serve did not answer /healthz within ${timeoutMs / 1000} s${describe()}`);
}
