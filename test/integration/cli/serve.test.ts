import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../cli/main.ts';
import { startLocalRelay } from '../../../cli/serve/local-relay.ts';
import { IDLE_POLL_MS } from '../../../cli/serve/worker-loop.ts';
import { loadConfig } from '../../../shared/config.ts';
import { silentLogger } from '../../../shared/log.ts';
import { SqliteJobQueue } from '../../../shared/queue/sqlite-job-queue.ts';

let busy: Server;
let busyPort = 0;
beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
});

function serveEnv(dataDir: string, port: number): Record<string, string> {
  return { HARBOR_URL: 'http://127.0.0.1:9', RELAY_STORE: `file:${dataDir}`, RELAY_QUEUE: `sqlite:${join(dataDir, 'queue.db')}`, PORT: String(port), HOST: '127.0.0.1', RELAY_AUTH: 'none', LOG_LEVEL: 'error' };
}

describe('layer-relay serve on a port that is taken (B9)', () => {
  it('exits 1 saying the port is in use, and leaves no worker behind consuming the queue', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serve-busy-'));
    let stderr = '';
    const code = await run(['serve'], { stdout: () => {}, stderr: (t) => void (stderr += t), env: serveEnv(dataDir, busyPort), cwd: dataDir, signal: new AbortController().signal });
    expect(code).toBe(1);
    expect(stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${busyPort} is in use`));

    // A worker loop left running would take this job within one idle poll.
    const queue = new SqliteJobQueue({ path: join(dataDir, 'queue.db') });
    try {
      await queue.send({ v: 1, pullId: 'left-alone', image: '127.0.0.1:9/team/app:1', platform: 'linux/amd64' });
      await delay(IDLE_POLL_MS * 3);
      const jobs = await queue.receive(10);
      expect(jobs.map((job) => (job.body as { pullId: string }).pullId)).toEqual(['left-alone']);
    } finally {
      queue.close();
    }
  });

  it('as a real process it exits by itself with code 1 (no headless worker that ignores SIGTERM)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serve-busy-proc-'));
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../../cli/bin.js', import.meta.url)), 'serve'], {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '', HOME: dataDir, ...serveEnv(dataDir, busyPort) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const outcome = await Promise.race([exited, delay(15_000).then(() => 'still running' as const)]);
    if (outcome === 'still running') child.kill('SIGKILL');
    expect(outcome).toBe(1);
  }, 20_000);
});

describe('layer-relay serve signing URLs', () => {
  const digestOfText = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

  it.each([
    ['PORT=0 and no RELAY_PUBLIC_URL: the port really bound', {}, (url: string) => new RegExp(`^${url.replace(/[.]/g, '\\.')}/objects/`)],
    ['PORT=0 and an explicit RELAY_PUBLIC_URL: that URL, as configured', { RELAY_PUBLIC_URL: 'http://localhost:9999' }, () => /^http:\/\/localhost:9999\/objects\//],
  ])('with %s', async (_, extra, expected) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serve-public-url-'));
    const text = 'stored bytes\n';
    const digest = digestOfText(text);
    mkdirSync(join(dataDir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dataDir, 'blobs', 'sha256', digest.slice('sha256:'.length)), text);
    const relay = await startLocalRelay(loadConfig({ ...serveEnv(dataDir, 0), ...extra }, dataDir), { log: silentLogger });
    try {
      const answer = (await (await fetch(`${relay.url}/v1/blobs/${digest}`)).json()) as { url: string };
      expect(answer.url).toMatch(expected(relay.url));
    } finally {
      await relay.stop();
    }
  });
});

describe('layer-relay serve configuration', () => {
  it('refuses HARBOR_CREDENTIALS_PARAMETER (read from SSM by the AWS worker only) instead of pulling anonymously', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'serve-ssm-'));
    let stderr = '';
    const env = { ...serveEnv(dataDir, 0), HARBOR_CREDENTIALS_PARAMETER: '/layer-relay/harbor' };
    const code = await run(['serve'], { stdout: () => {}, stderr: (t) => void (stderr += t), env, cwd: dataDir, signal: new AbortController().signal });
    expect(code).toBe(1);
    expect(stderr).toMatch(/CONFIG_INVALID: HARBOR_CREDENTIALS_PARAMETER is for AWS mode/);
  });
});
