import { beforeAll, describe, expect, it } from 'vitest';
import { digestOf } from '../../../shared/digest.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { MANIFEST_MEDIA_TYPES } from '../../../shared/registry/media-types.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createTestClient, failure, pushRandomImage, useFaultProxy, type PushedImage } from './field-case-kit.ts';

/* B. Manifest answers that are odd but seen: a byte-order mark, another digest algorithm in the header, Content-Type spellings, an encoding. */

const { standIn } = useStandIn();
const proxy = useFaultProxy(standIn);
const amd64 = parsePlatform('linux/amd64');
const robot = () => createTestClient(proxy.url, { credentials: standIn.users.robot });
let pushed: PushedImage;
const tagPath = () => `/v2/${pushed.repository}/manifests/v1`;

beforeAll(async () => {
  pushed = await pushRandomImage(standIn, 'quirks', [1024]);
});

describe('B. manifest quirks', () => {
  it('B4: a manifest with a UTF-8 byte-order mark fails MANIFEST_INVALID, clearly, without retries or a crash', async () => {
    const body = `\uFEFF${pushed.built.manifest.toString('utf8')}`;
    proxy.addRule({ match: { path: tagPath() }, action: { type: 'status', status: 200, headers: { 'content-type': MANIFEST_MEDIA_TYPES.ociManifest }, body } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.robot, sleeps });
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err).toMatchObject({ code: 'MANIFEST_INVALID', retryable: false });
    expect(sleeps).toEqual([]);
    await registry.close();
  });

  it('B2: a Docker-Content-Digest with another algorithm (sha512 of the same bytes) does not change the digest computed from the bytes', async () => {
    proxy.addRule({ match: { path: tagPath() }, times: 1, action: { type: 'setHeaders', headers: { 'docker-content-digest': digestOf(pushed.built.manifest, 'sha512') } } });
    const registry = robot();
    expect((await registry.resolve(pushed.ref, amd64)).manifestDigest).toBe(pushed.built.digest);
    await registry.close();
  });

  it.each(['application/vnd.oci.image.manifest.v1+json; charset=utf-8', 'Application/VND.OCI.Image.Manifest.v1+JSON'])('B3: Content-Type %j is understood', async (contentType) => {
    proxy.addRule({ match: { path: tagPath() }, times: 1, action: { type: 'setHeaders', headers: { 'content-type': contentType } } });
    const registry = robot();
    expect((await registry.resolve(pushed.ref, amd64)).manifestDigest).toBe(pushed.built.digest);
    await registry.close();
  });

  it('B3/F4: a manifest answered with Content-Encoding gzip anyway is refused, naming the encoding', async () => {
    proxy.addRule({ match: { path: tagPath() }, action: { type: 'gzipEncoding' } });
    const registry = robot();
    const err = await failure(registry.resolve(pushed.ref, amd64));
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('Content-Encoding gzip');
    await registry.close();
  });
});
