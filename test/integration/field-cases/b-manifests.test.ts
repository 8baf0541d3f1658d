import { describe, expect, it } from 'vitest';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { digestOf } from '../../../shared/digest.ts';
import { parsePlatform } from '../../../shared/platform.ts';
import { MANIFEST_MEDIA_TYPES } from '../../../shared/registry/media-types.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { createTestClient, failure, pushRandomImage, useFaultProxy } from './field-case-kit.ts';

/* B. Manifests and media types — the real registry's answers, edited by the fault proxy. */

const { standIn, fixtures } = useStandIn();
const amd64 = parsePlatform('linux/amd64');
const proxy = useFaultProxy(standIn);
const { seen, viaProxy } = proxy;
const client = () => createTestClient(proxy.url, { credentials: standIn.users.admin });

describe('B. manifests and media types', () => {
  it('B1: every manifest request (tag, then child by digest) accepts all four types, so the real registry serves an OCI index', async () => {
    const fixture = fixtures['oci-index'];
    const registry = client();
    const resolved = await registry.resolve(viaProxy(fixture.ref), amd64);
    expect(resolved.indexDigest).toBe(fixture.manifestDigest);
    await proxy.idle();
    const manifestGets = seen().filter((r) => r.path.includes('/manifests/'));
    expect(manifestGets.map((r) => r.path.split('/manifests/')[1])).toEqual([fixture.tag, resolved.manifestDigest]);
    for (const request of manifestGets) {
      for (const type of Object.values(MANIFEST_MEDIA_TYPES)) expect(request.accept).toContain(type);
    }
    await registry.close();
  });

  it('B2: the manifest digest is the hash of the bytes, whatever Docker-Content-Digest says or when it is missing', async () => {
    const fixture = fixtures['docker-single'];
    const path = `/v2/${fixture.repository}/manifests/${fixture.tag}`;
    const registry = client();
    proxy.addRule({ match: { path }, times: 1, action: { type: 'stripHeaders', names: ['docker-content-digest'] } });
    expect((await registry.resolve(viaProxy(fixture.ref), amd64)).manifestDigest).toBe(fixture.manifestDigest);
    proxy.addRule({ match: { path }, times: 1, action: { type: 'setHeaders', headers: { 'docker-content-digest': digestOf('other bytes') } } });
    expect((await registry.resolve(viaProxy(fixture.ref), amd64)).manifestDigest).toBe(fixture.manifestDigest);
    await registry.close();
  });

  it('B2: a digest reference whose bytes hash to something else fails DIGEST_MISMATCH', async () => {
    const fixture = fixtures['docker-single'];
    const byDigest = `${fixture.ref.replace(/:[^:/]+$/, '')}@${fixture.manifestDigest}`;
    proxy.addRule({ match: { path: `/v2/${fixture.repository}/manifests/${fixture.manifestDigest}` }, action: { type: 'flipByte', offset: 3 } });
    const registry = client();
    const err = await failure(registry.resolve(viaProxy(byDigest), amd64));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(err.message).toContain(fixture.manifestDigest);
    await registry.close();
  });

  it('B3: no Content-Type, no Content-Length and no mediaType in the body still resolve, by shape and by digest only', async () => {
    const pushed = await pushRandomImage(standIn, 'no-media-type', [1024]);
    const { mediaType: _dropped, ...body } = JSON.parse(pushed.built.manifest.toString()) as Record<string, unknown>;
    const bytes = Buffer.from(JSON.stringify(body));
    const digest = digestOf(bytes);
    await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushManifest(pushed.repository, 'bare', MANIFEST_MEDIA_TYPES.ociManifest, bytes, digest);
    proxy.addRule({ match: { path: /\/manifests\/bare$/ }, action: { type: 'setHeaders', headers: { 'content-type': null, 'content-length': null, 'docker-content-digest': null } } });
    const registry = client();
    const resolved = await registry.resolve(viaProxy(`${standIn.host}/${pushed.repository}:bare`), amd64);
    expect(resolved).toMatchObject({ manifestDigest: digest, mediaType: MANIFEST_MEDIA_TYPES.ociManifest });
    expect(resolved.layers.map((l) => l.digest)).toEqual(pushed.built.layers.map((l) => l.digest));
    await registry.close();
  });

  it.each([
    ['application/vnd.docker.distribution.manifest.v1+prettyjws', '{"schemaVersion":1,"name":"x","fsLayers":[]}'],
    ['application/vnd.acme.rocket+json', '{"schemaVersion":2,"rocket":true}'],
  ])('B4: a %s manifest fails UNSUPPORTED_MANIFEST naming the type, without retries', async (contentType, body) => {
    const fixture = fixtures['docker-single'];
    proxy.addRule({ match: { path: `/v2/${fixture.repository}/manifests/${fixture.tag}` }, action: { type: 'status', status: 200, headers: { 'content-type': contentType }, body } });
    const sleeps: number[] = [];
    const registry = createTestClient(proxy.url, { credentials: standIn.users.admin, sleeps });
    const err = await failure(registry.resolve(viaProxy(fixture.ref), amd64));
    expect(err.code).toBe('UNSUPPORTED_MANIFEST');
    expect(err.message).toContain(contentType);
    expect(sleeps).toEqual([]);
    await registry.close();
  });
});
