import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalRelay, type LocalRelay } from '../../cli/serve/local-relay.ts';
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import type { PullRecord } from '../../shared/pull-record.ts';

/** A relay for one test file: the real local server on 127.0.0.1, its own data directory. */
export interface TestRelay extends LocalRelay {
  dataDir: string;
  /** Everything the relay logged, as JSON lines (tests grep it for secrets). */
  logs: string[];
  postPull(body: unknown): Promise<{ status: number; body: PullRecord & { error?: { code: string; message: string } } }>;
  /** Polls GET /v1/pulls/:id until the pull is done or failed. */
  waitForPull(id: string, timeoutMs?: number): Promise<PullRecord>;
}

/** Starts the local relay with env-style settings (HARBOR_URL etc.), port 0, fast retries. */
export async function startTestRelay(env: Record<string, string>): Promise<TestRelay> {
  const dataDir = mkdtempSync(join(tmpdir(), 'layer-relay-test-'));
  const logs: string[] = [];
  const config = loadConfig({ RELAY_STORE: `file:${dataDir}`, PORT: '0', LOG_LEVEL: 'debug', ...env });
  const relay = await startLocalRelay(config, { log: createLogger({ level: 'debug', write: (line) => logs.push(line) }), retryBaseDelaySeconds: 0 });
  return {
    ...relay,
    dataDir,
    logs,
    stop: async () => {
      await relay.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
    postPull: async (body) => {
      const response = await fetch(`${relay.url}/v1/pulls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
      return { status: response.status, body: (await response.json()) as PullRecord & { error?: { code: string; message: string } } };
    },
    waitForPull: async (id, timeoutMs = 20_000) => {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
        const record = (await (await fetch(`${relay.url}/v1/pulls/${id}`)).json()) as PullRecord;
        if (record.state === 'done' || record.state === 'failed') return record;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`pull ${id} did not finish within ${timeoutMs} ms`);
    },
  };
}

/** GETs a URL and returns its bytes (test layers are small). */
export async function fetchBytes(url: string, init?: RequestInit): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const response = await fetch(url, init);
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}
