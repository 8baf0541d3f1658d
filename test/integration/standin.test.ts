import { createHash, randomUUID } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { extract } from 'tar-stream';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startStandIn } from '../../infra/local/harbor-standin.ts';
import { blob } from '../../infra/local/fixtures/image-builder.ts';
import { createRegistryPusher } from '../../infra/local/fixtures/registry-pusher.ts';
import { ALL_MANIFEST_TYPES, MEDIA_TYPES } from '../../infra/local/fixtures/media-types.ts';
import { createRegistrySession } from '../support/registry-session.ts';
import { createStandInClient } from '../support/standin-client.ts';
import { useStandIn } from '../support/standin-context.ts';

const { standIn, fixtures } = useStandIn();
const session = createRegistrySession(standIn.url);
const { admin, robot, alice } = standIn.users;
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

describe('Harbor token service', () => {
  it('answers in Harbor\'s JSON shape with an RS256 token for the registry service', async () => {
    const answer = await session.token(admin, ['repository:team/docker-single:pull,push']);
    expect(answer.status).toBe(200);
    expect(answer.expires_in).toBe(1800);
    expect(Date.parse(answer.issued_at ?? '')).not.toBeNaN();
    const header = JSON.parse(Buffer.from(answer.token!.split('.')[0]!, 'base64url').toString());
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT' });
    expect(answer.claims).toMatchObject({ aud: 'harbor-registry', sub: 'admin', access: [{ type: 'repository', name: 'team/docker-single', actions: ['pull', 'push'] }] });
    expect(answer.claims!.exp - answer.claims!.iat).toBe(1800);
  });

  it('grants each of several scope parameters separately', async () => {
    const answer = await session.token(alice, ['repository:team/docker-single:pull', 'repository:other/app:pull']);
    expect(answer.claims!.access).toEqual([
      { type: 'repository', name: 'team/docker-single', actions: ['pull'] },
      { type: 'repository', name: 'other/app', actions: [] },
    ]);
  });

  it('lets the robot account robot$team+relay pull from team but not push', async () => {
    const answer = await session.token(robot, ['repository:team/docker-single:pull,push']);
    expect(answer.claims!.access[0]!.actions).toEqual(['pull']);
    const manifest = await session.get(`/v2/team/docker-single/manifests/v1`, answer.token);
    expect(manifest.status).toBe(200);
    await manifest.body?.cancel();
    const upload = await session.get('/v2/team/docker-single/blobs/uploads/', answer.token, { method: 'POST' });
    expect(upload.status).toBe(401);
    await upload.body?.cancel();
  });

  it('denies alice outside project team with the registry\'s 401 insufficient_scope', async () => {
    const ok = await session.token(alice, ['repository:team/docker-single:pull']);
    const allowed = await session.get('/v2/team/docker-single/manifests/v1', ok.token);
    expect(allowed.status).toBe(200);
    await allowed.body?.cancel();
    const denied = await session.token(alice, ['repository:public-not/app:pull']);
    const response = await session.get('/v2/public-not/app/manifests/v1', denied.token);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    await response.body?.cancel();
  });

  it('answers wrong credentials with a scope by 200 and a token that grants nothing (Harbor quirk)', async () => {
    const wrong = { username: admin.username, password: 'wrong' };
    const answer = await session.token(wrong, ['repository:team/docker-single:pull']);
    expect(answer.status).toBe(200);
    expect(answer.claims!.access.flatMap((entry) => entry.actions)).toEqual([]);
    const response = await session.get('/v2/team/docker-single/manifests/v1', answer.token);
    expect(response.status).toBe(401);
    await response.body?.cancel();
  });

  it('answers wrong credentials without a scope by 401', async () => {
    expect((await session.token({ username: 'alice', password: 'nope' }, [])).status).toBe(401);
    expect((await session.token(alice, [])).status).toBe(200);
  });

  it('lets anonymous callers pull project public only', async () => {
    const answer = await session.token(undefined, ['repository:public/hello:pull', 'repository:team/docker-single:pull']);
    expect(answer.claims!.access.map((entry) => entry.actions)).toEqual([['pull'], []]);
    const response = await session.get('/v2/public/hello/manifests/1', answer.token);
    expect(response.status).toBe(200);
    expect(sha256(new Uint8Array(await response.arrayBuffer()))).toBe(fixtures['public-hello'].manifestDigest);
  });

  it('challenges unauthenticated /v2/ calls with a Bearer realm naming the front', async () => {
    const response = await session.get('/v2/', undefined);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe(`Bearer realm="${standIn.url}/service/token",service="harbor-registry"`);
  });

  it('issues tokens with the configured lifetime', async () => {
    const shortLived = await startStandIn({ tokenTtlSeconds: 2 });
    try {
      const answer = await createRegistrySession(shortLived.url).token(shortLived.users.admin, ['repository:team/x:pull']);
      expect(answer.expires_in).toBe(2);
      expect(answer.claims!.exp - answer.claims!.iat).toBe(2);
    } finally {
      await shortLived.stop();
    }
  });
});

describe('front proxy', () => {
  it('rewrites nothing but keeps upload Locations on the front\'s origin', async () => {
    const answer = await session.token(admin, ['repository:team/upload-probe:pull,push']);
    const response = await session.get('/v2/team/upload-probe/blobs/uploads/', answer.token, { method: 'POST' });
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toMatch(new RegExp(`^${standIn.url}/v2/team/upload-probe/blobs/uploads/`));
  });

  it('logs blob GETs so tests can prove a blob was fetched once', async () => {
    // A blob of its own: other test files pull the shared fixtures in parallel.
    const probe = blob(Buffer.from(`log probe ${randomUUID()}`), 'application/octet-stream');
    const repository = 'team/log-probe';
    await createRegistryPusher({ url: standIn.url, ...admin }).pushBlob(repository, probe);
    const client = createStandInClient(standIn.url);
    const mark = await client.mark();
    const answer = await session.token(admin, [`repository:${repository}:pull`]);
    const response = await session.get(`/v2/${repository}/blobs/${probe.digest}`, answer.token);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(probe.bytes);
    expect(await client.blobGets(probe.digest, { since: mark })).toBe(1);
    expect(await client.blobGets(probe.digest, { since: mark, repository: 'team/other' })).toBe(0);
    const logged = await client.requests(mark);
    expect(logged).toContainEqual({ method: 'GET', path: `/v2/${repository}/blobs/${probe.digest}`, status: 200 });
    expect(logged).toContainEqual(expect.objectContaining({ path: '/service/token', account: 'admin', scopes: [`repository:${repository}:pull`] }));
  });
});

describe('fixtures', () => {
  it.each(Object.values(fixtures))('$name: manifests and layers are served and hash to their digests', async (fixture) => {
    const { token } = await session.token(admin, [`repository:${fixture.repository}:pull`]);
    const top = await session.get(`/v2/${fixture.repository}/manifests/${fixture.tag}`, token);
    expect(top.status).toBe(200);
    expect(top.headers.get('content-type')).toBe(fixture.mediaType);
    const topBytes = new Uint8Array(await top.arrayBuffer());
    expect(sha256(topBytes)).toBe(fixture.manifestDigest);
    expect(fixture.platforms.length).toBeGreaterThan(0);

    for (const platform of fixture.platforms) {
      const child = await session.get(`/v2/${fixture.repository}/manifests/${platform.manifestDigest}`, token);
      expect(child.status).toBe(200);
      const bytes = Buffer.from(await child.arrayBuffer());
      expect(sha256(bytes)).toBe(platform.manifestDigest);
      const manifest = JSON.parse(bytes.toString()) as { config: { digest: string }; layers: unknown[] };
      expect(manifest.layers).toEqual(platform.layers);
      const config = await session.get(`/v2/${fixture.repository}/blobs/${manifest.config.digest}`, token);
      const configJson = JSON.parse(Buffer.from(await config.arrayBuffer()).toString()) as { os: string; architecture: string; variant?: string };
      expect([configJson.os, configJson.architecture, configJson.variant].filter(Boolean).join('/')).toBe(platform.platform);
      for (const layer of platform.layers) {
        const blob = await session.get(`/v2/${fixture.repository}/blobs/${layer.digest}`, token);
        expect(blob.status).toBe(200);
        const layerBytes = new Uint8Array(await blob.arrayBuffer());
        expect(layerBytes.length).toBe(layer.size);
        expect(sha256(layerBytes)).toBe(layer.digest);
      }
    }
  });

  it('serves OCI indexes only to clients that accept them (why every request sends all four types)', async () => {
    const fixture = fixtures['oci-index'];
    const { token } = await session.token(admin, [`repository:${fixture.repository}:pull`]);
    const dockerOnly = await session.get(`/v2/${fixture.repository}/manifests/${fixture.tag}`, token, {
      headers: { accept: [MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerManifestList].join(', ') },
    });
    expect(dockerOnly.status).toBe(404);
    await dockerOnly.body?.cancel();
    const allTypes = await session.get(`/v2/${fixture.repository}/manifests/${fixture.tag}`, token, { headers: { accept: ALL_MANIFEST_TYPES.join(', ') } });
    expect(allTypes.status).toBe(200);
    expect(allTypes.headers.get('content-type')).toBe(MEDIA_TYPES.ociIndex);
    await allTypes.body?.cancel();
  });

  it('covers every layer media type the relay must copy', () => {
    const types = new Set(Object.values(fixtures).flatMap((fixture) => fixture.platforms.flatMap((platform) => platform.layers.map((layer) => layer.mediaType))));
    expect([...types].sort()).toEqual([MEDIA_TYPES.dockerLayerGzip, MEDIA_TYPES.ociLayer, MEDIA_TYPES.ociLayerGzip, MEDIA_TYPES.ociLayerZstd].sort());
    expect(fixtures['two-layer'].platforms[0]!.layers).toHaveLength(2);
    expect(fixtures['docker-list'].platforms.map((platform) => platform.platform)).toEqual(['linux/amd64', 'linux/arm64/v8']);
  });

  it('keeps the attestation entry of oci-index out of its platforms but in the index', async () => {
    const fixture = fixtures['oci-index'];
    const { token } = await session.token(admin, [`repository:${fixture.repository}:pull`]);
    const index = (await (await session.get(`/v2/${fixture.repository}/manifests/${fixture.tag}`, token)).json()) as {
      manifests: Array<{ digest: string; platform?: { os: string; architecture: string }; annotations?: Record<string, string> }>;
    };
    const attestation = index.manifests.find((entry) => entry.platform?.os === 'unknown');
    expect(attestation?.digest).toBe(fixture.attestations?.[0]);
    expect(attestation?.annotations).toEqual({
      'vnd.docker.reference.type': 'attestation-manifest',
      'vnd.docker.reference.digest': fixture.platforms.find((platform) => platform.platform === 'linux/amd64')?.manifestDigest,
    });
  });

  it.each([
    ['linux/amd64', 0x3e],
    ['linux/arm64', 0xb7],
  ])('busybox %s layer holds a real static busybox for that CPU (e_machine %i)', async (platformName, machine) => {
    const fixture = fixtures.busybox;
    const platform = fixture.platforms.find((entry) => entry.platform === platformName)!;
    const { token } = await session.token(robot, [`repository:${fixture.repository}:pull`]);
    const layer = platform.layers[0]!;
    expect(layer.mediaType).toBe(MEDIA_TYPES.ociLayerGzip);
    const blob = await session.get(`/v2/${fixture.repository}/blobs/${layer.digest}`, token);
    const files = await untar(gunzipSync(Buffer.from(await blob.arrayBuffer())));
    const busybox = files.get('bin/busybox')!;
    expect(busybox.mode & 0o777).toBe(0o755);
    expect(busybox.content.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(busybox.content.readUInt16LE(18)).toBe(machine);
  });
});

async function untar(tar: Buffer): Promise<Map<string, { mode: number; content: Buffer }>> {
  const files = new Map<string, { mode: number; content: Buffer }>();
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk) => chunks.push(chunk as Buffer));
      stream.on('end', () => {
        files.set(header.name, { mode: header.mode ?? 0, content: Buffer.concat(chunks) });
        next();
      });
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  Readable.from([tar]).pipe(reader);
  await done;
  return files;
}
