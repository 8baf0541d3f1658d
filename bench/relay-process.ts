import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StandIn } from '../infra/local/harbor-standin.ts';
import { freePort } from '../infra/local/free-port.ts';
import { serveNodeFlags, stopChild, waitForHealth } from '../infra/local/relay-child.ts';


/** A `layer-relay serve` child process, measured from outside like an operator would. */
export interface RelayProcess {
  url: string;
  pid: number;
  /** Where its stderr (JSON log lines) goes. */
  logPath: string;
  stop(): Promise<void>;
}

/** Options of {@link startRelayProcess}. */
export interface RelayProcessOptions {
  root: string;
  standIn: StandIn;
  /** Directory store; shared by relays started with the same value (multi-worker figure). */
  storeDir: string;
  logPath: string;
  /** Extra environment, e.g. RELAY_WORKER_CONCURRENCY. */
  env?: Record<string, string>;
}

/** The relay answers /healthz within a second or two on an idle machine; a loaded one gets more. */
const HEALTH_TIMEOUT_MS = 30_000;

/**
 * Starts `node cli/main.ts serve` as a child (the same Node that runs the bench), pointed at the
 * stand-in with the robot account, and waits for /healthz. A separate process so its RSS is its own.
 */
export async function startRelayProcess(options: RelayProcessOptions): Promise<RelayProcess> {
  const port = await freePort();
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const child = spawn(process.execPath, [...serveNodeFlags(options.root), join(options.root, 'cli/main.ts'), 'serve'], {
    cwd: options.root,
    env: {
      ...process.env,
      HARBOR_URL: options.standIn.url,
      HARBOR_USERNAME: options.standIn.users.robot.username,
      HARBOR_PASSWORD: options.standIn.users.robot.password,
      RELAY_STORE: `file:${options.storeDir}`,
      RELAY_AUTH: 'none',
      HOST: '127.0.0.1',
      PORT: String(port),
      // warn: request-level info lines would cost the relay time the baselines do not spend.
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.pipe(log);
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopChild(child).finally(() => log.end());
  try {
    await waitForHealth(url, child, HEALTH_TIMEOUT_MS, () => `:\n${tail(options.logPath)}`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid ?? 0, logPath: options.logPath, stop };
}


/** The last lines of a log, for an error message. */
export function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

