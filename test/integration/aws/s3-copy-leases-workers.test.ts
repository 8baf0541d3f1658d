import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { relayPull } from '../../../functions/worker/relay-pull.ts';
import { createAwsRelay, type AwsRelay } from '../../../shared/aws/aws-relay.ts';
import { createLogger } from '../../../shared/log.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { startTestAws, type TestAws } from '../../support/fauxqs.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { pushCraftedImage } from '../files/push-crafted-layer.ts';

/*
 * Two Lambda containers (two createAwsRelay graphs: their own SingleFlight, their own clients) on
 * one bucket relay two pulls of the same fresh layer at once: the S3 lease object decides which
 * copies (conditional puts through the proxy that gives fauxqs S3's semantics), the other waits.
 */

const { standIn } = useStandIn();
let aws: TestAws;
let proxy: FaultProxy;

beforeAll(async () => {
  aws = await startTestAws();
  proxy = await startFaultProxy({ target: standIn.url });
});
afterAll(async () => {
  await proxy?.stop();
  await aws?.stop();
});

function container(logs: string[]): AwsRelay {
  const env = aws.env({ RELAY_AUTH: 'none', HARBOR_URL: proxy.url, HARBOR_USERNAME: standIn.users.robot.username, HARBOR_PASSWORD: standIn.users.robot.password });
  return createAwsRelay(env, { log: createLogger({ level: 'debug', write: (line) => logs.push(line) }) });
}

describe('AWS workers in two containers', () => {
  it('copy a fresh layer wanted by both once, decided by the S3 lease object', async () => {
    const pushed = await pushCraftedImage(standIn, 'aws-leases', [[{ name: 'payload.bin', body: randomBytes(1024 * 1024) }]], ['v1', 'v2']);
    const layer = pushed.image.layers[0]!;
    const blobPath = `/v2/${pushed.repository}/blobs/${layer.digest}`;
    // About a second per copy, so the second container arrives while the first is copying.
    proxy.addRule({ match: { method: 'GET', path: blobPath }, action: { type: 'throttle', bytesPerSecond: 1024 * 1024 } });
    const logs: string[] = [];
    const workers = await Promise.all([container(logs), container(logs)].map(async (relay, i) => {
      const image = pushed.refs[i]!.replace(standIn.host, proxy.host);
      const at = new Date().toISOString();
      const id = randomUUID();
      await relay.records.create({ id, image, platform: 'linux/amd64', state: 'queued', layers: [], createdAt: at, updatedAt: at });
      const deps = { registry: await relay.registry(), store: relay.store, records: relay.records, copies: relay.copies, leases: relay.leases, log: relay.log };
      return relayPull(deps, { v: 1, pullId: id, image, platform: 'linux/amd64' });
    }));
    expect(workers.map((record) => record?.state)).toEqual(['done', 'done']);
    await proxy.idle();
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.path === blobPath)).toHaveLength(1);
    expect(logs.filter((line) => line.includes('"message":"blob copied by another worker"') && line.includes(layer.digest))).toHaveLength(1);
  });
});
