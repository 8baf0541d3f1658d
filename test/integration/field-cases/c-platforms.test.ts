import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { digestOf } from '../../../shared/digest.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { MANIFEST_MEDIA_TYPES } from '../../../shared/registry/media-types.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createTestClient, failure, pushRandomImage, useFaultProxy } from './field-case-kit.ts';

/*
 * C. Platforms. The selection rules have table tests in test/unit/platform.test.ts (C1, C2, C3 by
 * name); here the same cases go through the real registry's indexes, plus C4 and single manifests.
 */

const { standIn, fixtures } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen, viaProxy } = proxy;
const client = () => createTestClient(proxy.url, { credentials: standIn.users.admin });

/** Pushes an index of `entries` (descriptor + optional platform) under `tag` in `repository`. */
async function pushIndex(repository: string, tag: string, entries: object[]): Promise<void> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociIndex, manifests: entries }));
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushManifest(repository, tag, MANIFEST_MEDIA_TYPES.ociIndex, bytes, digestOf(bytes));
}

describe('C. platforms', () => {
  it('C1: never picks the buildx attestation entry, and lists only real platforms when none matches', async () => {
    const fixture = fixtures['oci-index'];
    expect(fixture.attestations?.length).toBeGreaterThan(0);
    const registry = client();
    const chosen = await registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/amd64'));
    expect(fixture.attestations).not.toContain(chosen.manifestDigest);
    const err = await failure(registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/s390x')));
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('linux/amd64');
    expect(err.message).toContain('linux/arm64');
    expect(err.message).not.toContain('unknown');
    await registry.close();
  });

  it('C2: arm64 without a variant matches arm64/v8 entries and the reverse', async () => {
    const registry = client();
    const list = fixtures['docker-list']; // entry says arm64/v8
    const listArm = list.platforms.find((p) => p.platform.startsWith('linux/arm64'))!;
    expect((await registry.resolve(viaProxy(list.ref), parsePlatform('linux/arm64'))).manifestDigest).toBe(listArm.manifestDigest);
    const index = fixtures['oci-index']; // entry says arm64
    const indexArm = index.platforms.find((p) => p.platform.startsWith('linux/arm64'))!;
    expect((await registry.resolve(viaProxy(index.ref), parsePlatform('linux/arm64/v8'))).manifestDigest).toBe(indexArm.manifestDigest);
    await registry.close();
  });

  it('C3: an index entry without platform is chosen only when it is the only entry, and never crashes', async () => {
    const pushed = await pushRandomImage(standIn, 'no-platform', [512]);
    const other = await pushRandomImage(standIn, 'no-platform-other', [512], { platform: { os: 'linux', architecture: 'arm64' } });
    const descriptor = { mediaType: pushed.built.mediaType, digest: pushed.built.digest, size: pushed.built.size };
    await pushIndex(pushed.repository, 'alone', [descriptor]);
    // The second entry's child lives in another repository; only its descriptor matters for selection.
    await pushIndex(pushed.repository, 'mixed', [descriptor, { mediaType: other.built.mediaType, digest: pushed.built.digest, size: pushed.built.size, platform: { os: 'linux', architecture: 'arm64' } }]);
    const registry = client();
    const alone = await registry.resolve(viaProxy(`${standIn.host}/${pushed.repository}:alone`), parsePlatform('linux/riscv64'));
    expect(alone.manifestDigest).toBe(pushed.built.digest);
    const err = await failure(registry.resolve(viaProxy(`${standIn.host}/${pushed.repository}:mixed`), parsePlatform('linux/riscv64')));
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('(no platform)');
    await registry.close();
  });

  it('C4: the entry digest picked from the index is the one fetched and reported, once', async () => {
    const fixture = fixtures['docker-list'];
    const expected = fixture.platforms.find((p) => p.platform === 'linux/amd64')!;
    const registry = client();
    const resolved = await registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/amd64'));
    expect(resolved.manifestDigest).toBe(expected.manifestDigest);
    expect(resolved.layers.map((l) => l.digest)).toEqual(expected.layers.map((l) => l.digest));
    await proxy.idle();
    const manifests = seen().filter((r) => r.path.includes('/manifests/')).map((r) => r.path.split('/manifests/')[1]);
    expect(manifests).toEqual([fixture.tag, expected.manifestDigest]);
    await registry.close();
  });

  it('C (single manifest): a tag naming one image manifest is checked against its config platform', async () => {
    const fixture = fixtures['docker-single']; // linux/amd64
    const registry = client();
    const ok = await registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/amd64'));
    expect(ok.platform).toBe('linux/amd64');
    const err = await failure(registry.resolve(viaProxy(fixture.ref), parsePlatform('linux/arm64')));
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('available: linux/amd64');
    // The config was read through the blob API and verified (one small GET), not guessed.
    await proxy.idle();
    expect(seen().filter((r) => r.path === `/v2/${fixture.repository}/blobs/${fixture.platforms[0]!.configDigest}`).length).toBe(2);
    await registry.close();
  });

  it('C (single manifest): a config without os/architecture matches any platform', async () => {
    const repository = `team/no-os-${randomBytes(6).toString('hex')}`;
    const pusher = createRegistryPusher({ url: standIn.url, ...standIn.users.admin });
    const configBytes = Buffer.from('{"rootfs":{"type":"layers","diff_ids":[]}}');
    const config = { bytes: configBytes, digest: digestOf(configBytes), size: configBytes.length, mediaType: 'application/vnd.oci.image.config.v1+json' };
    await pusher.pushBlob(repository, config);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociManifest, config: { mediaType: config.mediaType, digest: config.digest, size: config.size }, layers: [] }));
    await pusher.pushManifest(repository, 'v1', MANIFEST_MEDIA_TYPES.ociManifest, manifest, digestOf(manifest));
    const registry = client();
    const resolved = await registry.resolve(viaProxy(`${standIn.host}/${repository}:v1`), parsePlatform('linux/riscv64'));
    expect(resolved.manifestDigest).toBe(digestOf(manifest));
    expect(resolved.platform).toBeUndefined();
    await registry.close();
  });
});
