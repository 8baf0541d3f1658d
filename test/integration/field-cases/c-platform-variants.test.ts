import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildImage, type BuiltImage } from '../../../infra/local/fixtures/image-builder.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { digestOf } from '../../../shared/digest.ts';
import { parseImageRef } from '../../../shared/image-ref.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { MANIFEST_MEDIA_TYPES } from '../../../shared/registry/media-types.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createTestClient, failure, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/* C. Indexes pushed to the real registry: nested indexes, duplicate platforms, amd64 microarchitecture levels. */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const { seen } = proxy;
const amd64 = parsePlatform('linux/amd64');
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'variants', [1024]);
});

/** Pushes more images into `repository` (same repo: index children must live there). */
async function pushInto(repository: string, images: BuiltImage[]): Promise<void> {
  const pusher = createRegistryPusher({ url: standIn.url, ...standIn.users.admin });
  for (const image of images) await pusher.pushImage(repository, image, image.digest);
}

function randomImage(platform: { os: string; architecture: string; variant?: string }): BuiltImage {
  return buildImage({ format: 'oci', platform, layers: [{ bytes: randomBytes(1024), mediaType: 'application/vnd.oci.image.layer.v1.tar' }] });
}

async function pushIndexBytes(repository: string, tag: string, entries: object[]): Promise<string> {
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociIndex, manifests: entries }));
  const digest = digestOf(bytes);
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushManifest(repository, tag, MANIFEST_MEDIA_TYPES.ociIndex, bytes, digest);
  return digest;
}

const entryOf = (image: BuiltImage, platform: object) => ({ mediaType: image.mediaType, digest: image.digest, size: image.size, platform });

describe('C. platform variants', () => {
  it('C4: an index whose chosen child is itself an index fails MANIFEST_INVALID naming it', async () => {
    const entries = [entryOf(pushed.built, { os: 'linux', architecture: 'amd64' })];
    const innerBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociIndex, manifests: entries }));
    const inner = await pushIndexBytes(pushed.repository, 'inner', entries);
    await pushIndexBytes(pushed.repository, 'outer', [{ mediaType: MANIFEST_MEDIA_TYPES.ociIndex, digest: inner, size: innerBytes.length, platform: { os: 'linux', architecture: 'amd64' } }]);
    const registry = robot();
    const err = await failure(registry.resolve(parseImageRef(`${standIn.host}/${pushed.repository}:outer`), amd64));
    expect(err.code).toBe('MANIFEST_INVALID');
    expect(err.message).toContain(inner);
    await registry.close();
  });

  it('C4: duplicate entries for one platform (with os.version / os.features): the first is chosen, and only it is fetched', async () => {
    const first = randomImage({ os: 'linux', architecture: 'amd64' });
    const second = randomImage({ os: 'linux', architecture: 'amd64' });
    await pushInto(pushed.repository, [first, second]);
    await pushIndexBytes(pushed.repository, 'dups', [
      entryOf(first, { os: 'linux', architecture: 'amd64', 'os.version': '6.1', 'os.features': ['sse4'] }),
      entryOf(second, { os: 'linux', architecture: 'amd64' }),
    ]);
    const registry = robot();
    const resolved = await registry.resolve(parseImageRef(`${standIn.host}/${pushed.repository}:dups`), amd64);
    expect(resolved.manifestDigest).toBe(first.digest);
    await proxy.idle();
    expect(seen().filter((r) => r.path.includes('/manifests/')).map((r) => r.path.split('/manifests/')[1])).toEqual(['dups', first.digest]);
    await registry.close();
  });

  it.each([
    ['linux/amd64/v1', 'plain'],
    ['linux/amd64', 'plain'],
    ['linux/amd64/v2', 'v2'],
    ['linux/amd64/v3', 'v2'],
    ['linux/amd64/v4', 'v2'],
  ] as const)('C2: amd64 variants: asking %s picks the %s entry (amd64 without variant is v1; a host runs its level and lower, never higher)', async (want, expected) => {
    const plain = randomImage({ os: 'linux', architecture: 'amd64' });
    const v2 = randomImage({ os: 'linux', architecture: 'amd64', variant: 'v2' });
    await pushInto(pushed.repository, [plain, v2]);
    const tag = `amd64-${randomBytes(3).toString('hex')}`;
    await pushIndexBytes(pushed.repository, tag, [entryOf(plain, { os: 'linux', architecture: 'amd64' }), entryOf(v2, { os: 'linux', architecture: 'amd64', variant: 'v2' })]);
    const registry = robot();
    const resolved = await registry.resolve(parseImageRef(`${standIn.host}/${pushed.repository}:${tag}`), parsePlatform(want));
    expect(resolved.manifestDigest).toBe(expected === 'plain' ? plain.digest : v2.digest);
    await registry.close();
  });

  it('C2: an index with only an amd64/v3 entry is not picked for a v2 host: PLATFORM_NOT_FOUND listing it', async () => {
    const v3 = randomImage({ os: 'linux', architecture: 'amd64', variant: 'v3' });
    await pushInto(pushed.repository, [v3]);
    const tag = `v3only-${randomBytes(3).toString('hex')}`;
    await pushIndexBytes(pushed.repository, tag, [entryOf(v3, { os: 'linux', architecture: 'amd64', variant: 'v3' })]);
    const registry = robot();
    const err = await failure(registry.resolve(parseImageRef(`${standIn.host}/${pushed.repository}:${tag}`), parsePlatform('linux/amd64/v2')));
    expect(err.code).toBe('PLATFORM_NOT_FOUND');
    expect(err.message).toContain('linux/amd64/v3');
    await registry.close();
  });
});
