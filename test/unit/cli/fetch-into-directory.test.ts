import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { fetchIntoDirectory } from '../../../cli/get/fetch-into-directory.ts';
import { digestOf } from '../../../shared/digest.ts';
import { RelayError } from '../../../shared/errors.ts';
import { DEFAULT_EXTRACT_LIMITS } from '../../../shared/layer/extract-layer.ts';

const LAYER = { digest: digestOf(Buffer.from('not used')), size: 8, mediaType: 'application/vnd.oci.image.layer.v1.tar' };

/** fetchIntoDirectory with a source whose every layer fails with `error`; returns the error and the opens. */
async function failingFetch(error: RelayError, restarts: number) {
  const parent = mkdtempSync(join(tmpdir(), 'fetch-restarts-'));
  let opens = 0;
  const restartsSeen: number[] = [];
  const failure = await fetchIntoDirectory({
    layers: [LAYER],
    dir: join(parent, 'out'),
    guard: { cwd: tmpdir(), force: false },
    marker: { image: 'h/t/app:1', platform: 'linux/amd64', manifestDigest: LAYER.digest },
    limits: DEFAULT_EXTRACT_LIMITS,
    restarts,
    onRestart: (_index, restart) => restartsSeen.push(restart),
    openLayer: async () => {
      opens += 1;
      return new Readable({ read() { this.destroy(error); } });
    },
  }).then(() => undefined, (err: unknown) => err);
  return { failure, opens, restartsSeen, left: readdirSync(parent) };
}

describe('fetchIntoDirectory restarts', () => {
  it('starts again from zero on a retryable error, a bounded number of times, then fails with that error', async () => {
    const error = new RelayError('REGISTRY_ERROR', 'asked for bytes 100- and got the whole blob (Range ignored)', { retryable: true });
    const result = await failingFetch(error, 2);
    expect(result.failure).toBe(error);
    expect(result.opens).toBe(3);
    expect(result.restartsSeen).toEqual([1, 2]);
    expect(result.left).toEqual([]); // every attempt's temp tree removed
  });

  it('does not restart on an error retrying cannot fix', async () => {
    const result = await failingFetch(new RelayError('DENIED', 'no'), 2);
    expect(result.opens).toBe(1);
    expect(result.failure).toMatchObject({ code: 'DENIED' });
  });
});
