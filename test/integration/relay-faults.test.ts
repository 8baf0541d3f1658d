import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitDigest, parseDigest } from '../../shared/digest.ts';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.ts';
import { useStandIn } from '../support/standin-context.ts';
import { startTestRelay, type TestRelay } from '../support/test-relay.ts';

const { standIn, fixtures } = useStandIn();

describe('relay through the fault proxy', () => {
  let proxy: FaultProxy;
  let relay: TestRelay;
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: standIn.url });
    relay = await startTestRelay({ HARBOR_URL: proxy.url, HARBOR_USERNAME: standIn.users.robot.username, HARBOR_PASSWORD: standIn.users.robot.password });
  });
  afterAll(async () => {
    await relay.stop();
    await proxy.stop();
  });

  it('E2: a blob served with one wrong byte is not stored and the pull fails with DIGEST_MISMATCH', async () => {
    const fixture = fixtures['oci-zstd'];
    const layer = fixture.platforms[0]!.layers[0]!;
    proxy.addRule({ match: { method: 'GET', path: `/v2/${fixture.repository}/blobs/${layer.digest}` }, action: { type: 'flipByte' } });
    const { body } = await relay.postPull({ image: `${proxy.host}/${fixture.repository}:${fixture.tag}` });
    const record = await relay.waitForPull(body.id);
    expect(record.state).toBe('failed');
    expect(record.error?.code).toBe('DIGEST_MISMATCH');
    expect(record.error?.message).toContain(layer.digest);
    // Retried (a corrupt cache may heal), but bounded: one GET per allowed attempt.
    const blobGets = proxy.requests.filter((r) => r.path.endsWith(`/blobs/${layer.digest}`));
    expect(blobGets.every((r) => r.ruleApplied === 'flipByte')).toBe(true);
    expect(blobGets.length).toBeGreaterThanOrEqual(1);
    expect(blobGets.length).toBeLessThanOrEqual(3);
    // Nothing under the digest, nothing half-written.
    const { algorithm, hex } = splitDigest(parseDigest(layer.digest));
    expect(existsSync(join(relay.dataDir, 'blobs', algorithm, hex))).toBe(false);
    expect(readdirSync(join(relay.dataDir, 'tmp'))).toEqual([]);
    expect((await fetch(`${relay.url}/v1/blobs/${layer.digest}`)).status).toBe(404);
  });
});
