import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../../../infra/local/fixtures/image-builder.ts';
import { buildLayer } from '../../../infra/local/fixtures/layer-tar.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { startStandIn, type StandIn } from '../../../infra/local/harbor-standin.ts';
import { digestOf } from '../../../shared/digest.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { basic, pushImageAs, randomImage, relayHttp, uniqueRepository } from './relay-http.ts';

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const FOREIGN_LAYER = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';

let standIn: StandIn;
let relay: TestRelay;

beforeAll(async () => {
  // Harbor ships its registry with `validation: disabled: true` (goharbor/harbor
  // make/photon/prepare/templates/registry/config.yml.jinja): it then accepts manifests naming
  // foreign layers it does not hold. distribution reads the setting from this variable.
  const previous = process.env.REGISTRY_VALIDATION_DISABLED;
  process.env.REGISTRY_VALIDATION_DISABLED = 'true';
  try {
    standIn = await startStandIn();
  } finally {
    if (previous === undefined) delete process.env.REGISTRY_VALIDATION_DISABLED;
    else process.env.REGISTRY_VALIDATION_DISABLED = previous;
  }
  const { admin } = standIn.users;
  relay = await startTestRelay({ HARBOR_URL: standIn.url, HARBOR_USERNAME: admin.username, HARBOR_PASSWORD: admin.password, RELAY_AUTH: 'harbor' });
});
afterAll(async () => {
  await relay?.stop();
  await standIn?.stop();
});

/** Pushes to `repository:v1` a manifest whose only layer claims `layer` as a foreign layer the repository does not hold. */
async function pushClaim(repository: string, layer: { digest: string; size: number }): Promise<void> {
  const carrier = buildImage({ format: 'docker', platform: { os: 'linux', architecture: 'amd64' }, layers: [await buildLayer([{ path: 'x', content: 'x' }], 'gzip')] });
  const pusher = createRegistryPusher({ url: standIn.url, ...standIn.users.admin });
  await pusher.pushBlob(repository, carrier.config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: carrier.config.mediaType, size: carrier.config.size, digest: carrier.config.digest },
      layers: [{ mediaType: FOREIGN_LAYER, size: layer.size, digest: layer.digest, urls: ['https://example.invalid/layer'] }],
    }),
  );
  await pusher.pushManifest(repository, 'v1', DOCKER_MANIFEST, manifest, digestOf(manifest));
}

describe('a layer already stored is linked to a repository only when the registry serves it from there', () => {
  it('a manifest claiming a stored layer its repository does not hold fails the pull (BLOB_NOT_FOUND) and grants nothing', async () => {
    const { admin, alice } = standIn.users;
    const http = relayHttp(relay.url);
    // 1. A layer only other/secret holds, relayed by someone allowed to; alice (pull on team only) may not read it.
    const secretImage = await randomImage();
    const secretRef = await pushImageAs(standIn, uniqueRepository('other', 'secret'), secretImage);
    const relayed = await http.call('POST', '/v1/pulls', { authorization: basic(admin), body: { image: secretRef } });
    expect((await http.waitForPull(relayed.json.id, basic(admin))).state).toBe('done');
    const secret = secretImage.layers[0]!;
    expect((await http.call('GET', `/v1/blobs/${secret.digest}`, { authorization: basic(alice) })).status).toBe(403);

    // 2. In team, a manifest that names the secret layer; the registry does not hold it there.
    const repository = uniqueRepository('team', 'claim');
    await pushClaim(repository, secret);

    // 3. alice may pull team: the pull is accepted, and must fail rather than link the stored layer.
    const pulled = await http.call('POST', '/v1/pulls', { authorization: basic(alice), body: { image: `${standIn.host}/${repository}:v1` } });
    expect(pulled.status).toBe(202);
    const finished = await http.waitForPull(pulled.json.id, basic(alice));
    expect(finished.state).toBe('failed');
    expect(finished.error?.code).toBe('BLOB_NOT_FOUND');
    expect(finished.layers.every((layer) => layer.url === undefined)).toBe(true);
    expect(finished.files).toBeUndefined();

    // 4. Nothing became readable through team.
    expect((await http.call('GET', `/v1/blobs/${secret.digest}`, { authorization: basic(alice) })).status).toBe(403);
  });

  it('a stored layer that a second repository really holds is linked to it (one registry request, no copy)', async () => {
    const { admin, alice } = standIn.users;
    const http = relayHttp(relay.url);
    const image = await randomImage();
    const first = await http.call('POST', '/v1/pulls', { authorization: basic(admin), body: { image: await pushImageAs(standIn, uniqueRepository('other', 'shared'), image) } });
    expect((await http.waitForPull(first.json.id, basic(admin))).state).toBe('done');
    const layer = image.layers[0]!;
    expect((await http.call('GET', `/v1/blobs/${layer.digest}`, { authorization: basic(alice) })).status).toBe(403);

    const repository = uniqueRepository('team', 'shared');
    const second = await http.call('POST', '/v1/pulls', { authorization: basic(alice), body: { image: await pushImageAs(standIn, repository, image) } });
    const done = await http.waitForPull(second.json.id, basic(alice));
    expect(done.state).toBe('done');
    expect(standIn.blobGets(layer.digest, repository)).toBeLessThanOrEqual(1);

    const blob = await http.call('GET', `/v1/blobs/${layer.digest}`, { authorization: basic(alice) });
    expect(blob.status).toBe(200);
    const bytes = Buffer.from(await (await fetch(blob.json.url)).arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.digest);
  });
});
