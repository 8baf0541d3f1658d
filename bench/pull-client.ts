import { setTimeout as sleep } from 'node:timers/promises';
import type { PullRecord } from '../shared/pull-record.ts';

/** The relay's answer to POST /v1/pulls. */
export interface PostedPull {
  status: number;
  record: PullRecord;
}

/** Polls fast at first (a stored image is done in milliseconds), then calmer so polling does not load the relay. */
const FAST_POLL_MS = 2;
const FAST_POLL_WINDOW_MS = 300;
const SLOW_POLL_MS = 20;

/** POST /v1/pulls `{image, platform}`; throws on anything but 200/202. */
export async function postPull(relayUrl: string, image: string, platform = 'linux/amd64'): Promise<PostedPull> {
  const response = await fetch(`${relayUrl}/v1/pulls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ image, platform }),
  });
  const body = (await response.json()) as PullRecord & { error?: { code: string; message: string } };
  if (response.status !== 200 && response.status !== 202) throw new Error(`POST /v1/pulls ${image} answered ${response.status} ${body.error?.code}: ${body.error?.message}`);
  return { status: response.status, record: body };
}

/** GET /v1/pulls/:id until the pull is done or failed; a failed pull throws with its error code. */
export async function waitForPull(relayUrl: string, id: string, timeoutMs: number): Promise<PullRecord> {
  const started = performance.now();
  for (;;) {
    const response = await fetch(`${relayUrl}/v1/pulls/${id}`);
    const record = (await response.json()) as PullRecord;
    if (!response.ok) throw new Error(`GET /v1/pulls/${id} answered ${response.status}`);
    if (record.state === 'done') return record;
    if (record.state === 'failed') throw new Error(`pull ${id} of ${record.image} failed: ${record.error?.code}: ${record.error?.message}`);
    const elapsed = performance.now() - started;
    if (elapsed > timeoutMs) throw new Error(`pull ${id} of ${record.image} still ${record.state} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(elapsed < FAST_POLL_WINDOW_MS ? FAST_POLL_MS : SLOW_POLL_MS);
  }
}

/** POSTs and waits: the time from the request to the pull's `done`, and the finished record. */
export async function pullAndWait(relayUrl: string, image: string, timeoutMs: number): Promise<{ ms: number; status: number; record: PullRecord }> {
  const started = performance.now();
  const posted = await postPull(relayUrl, image);
  const record = posted.record.state === 'done' ? posted.record : await waitForPull(relayUrl, posted.record.id, timeoutMs);
  return { ms: performance.now() - started, status: posted.status, record };
}
