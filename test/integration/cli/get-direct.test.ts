import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushCraftedImage } from '../files/push-crafted-layer.ts';
import { cliWorkspace, runCli } from './cli-harness.ts';

/* get --direct through a fault proxy in front of the registry stand-in: no relay, no queue redelivery behind it. */

const { standIn } = useStandIn();
let proxy: FaultProxy;
let env: Record<string, string>;
const CUT = 100_000;

beforeAll(async () => {
  proxy = await startFaultProxy({ target: standIn.url });
  env = { HARBOR_URL: proxy.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };
});
afterEach(() => proxy.clearRules());
afterAll(() => proxy?.stop());

async function pushBig(name: string) {
  const body = randomBytes(600 * 1024);
  const { repository, image } = await pushCraftedImage(standIn, name, [[{ name: 'big.bin', body }]]);
  const blobPath = `/v2/${repository}/blobs/${image.layers[0]!.digest}`;
  return { body, blobPath, ref: `${proxy.host}/${repository}:v1` };
}

describe('layer-relay get --direct recovers on its own', () => {
  it('a reset mid-layer resumes with Range and says so, like the relay path (N8)', async () => {
    const { body, blobPath, ref } = await pushBig('direct-resume');
    proxy.addRule({ match: { path: blobPath }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', ref, '--direct', '-p', 'linux/amd64', '-o', 'out'], { cwd, env, isTTY: false });
    expect(result.stderr).not.toContain('layer-relay:');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/layer 1\/1: connection dropped, resuming at \d+(\.\d+)? KiB \(attempt 1\)/);
    expect(readFileSync(join(cwd, 'out/big.bin')).equals(body)).toBe(true);
  });

  it('F2 after a reset (the server ignores Range): the layer restarts from zero with a fresh hash and verifies (h3 finding 4)', async () => {
    const { body, blobPath, ref } = await pushBig('direct-f2');
    proxy.addRule({ match: { path: blobPath }, times: 1, action: { type: 'reset', afterBytes: CUT } });
    proxy.addRule({ match: { path: blobPath }, times: 1, action: { type: 'ignoreRange' } });
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', ref, '--direct', '-p', 'linux/amd64', '-o', 'out'], { cwd, env, isTTY: false });
    expect(result.stderr).not.toContain('layer-relay:');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/layer 1\/1: .*Range ignored.*; starting the image again from zero \(restart 1 of 2\)/);
    expect(readFileSync(join(cwd, 'out/big.bin')).equals(body)).toBe(true);
    expect(readdirSync(cwd)).toEqual(['out']);
  });
});
