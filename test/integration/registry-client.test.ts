import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { digestOf, type Digest } from '../../shared/digest.ts';
import { parseImageRef } from '../../shared/image-ref.ts';
import { parsePlatform } from '../../shared/platform.ts';
import { MANIFEST_MEDIA_TYPES, LAYER_MEDIA_TYPES } from '../../shared/registry/media-types.ts';
import { createRegistryClient, type Descriptor, type RegistryClient } from '../../shared/registry/registry-client.ts';
import { createTokenSource } from '../../shared/registry/token-source.ts';
import { createRetryPolicy } from '../../shared/retry-policy.ts';
import { failure } from '../support/rejection.ts';
import { useStandIn } from '../support/standin-context.ts';

/*
 * Part 1 speaks real HTTP to small registry-protocol servers started here: a token service on its
 * own origin (Harbor's realm is its external URL: H3), a registry that demands bearer tokens, and a
 * "storage" origin that answers 400 to any Authorization header, as S3 does to presigned URLs
 * carrying a second auth mechanism (A1). Faults are injected per test. Part 2 runs against the
 * shared Harbor stand-in (real distribution registry) provided by global setup.
 */

const USER = { username: 'robot$team+relay', password: 'pa55-w0rd!secret' };
const REPO = 'team/app';

interface Logged {
  method: string;
  path: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** One-shot handler: returns true when it answered the request. */
type Fault = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;

interface FakeHarbor {
  registryUrl: string;
  host: string;
  tokenUrl: string;
  storageUrl: string;
  registryLog: Logged[];
  tokenLog: Logged[];
  storageLog: Logged[];
  foreignLog: Logged[];
  foreignUrl: string;
  faults: Fault[];
  /** Manifests by `repo/reference` (tag or digest). */
  manifests: Map<string, { body: Buffer; contentType: string }>;
  blobs: Map<string, Buffer>;
  /** Token answer tweaks. */
  tokenBody: (token: string) => Record<string, unknown>;
  /** Drops every issued token (the registry restarted with a new key). */
  revokeAll(): void;
  /** `anonymous`: /v2/ answers 200 and nothing needs a token; `basic`: Basic challenge. */
  mode: 'bearer' | 'basic' | 'anonymous';
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function log(into: Logged[], req: IncomingMessage): URL {
  const url = new URL(req.url ?? '/', 'http://x');
  into.push({ method: req.method ?? 'GET', path: url.pathname, url: req.url ?? '/', headers: req.headers });
  return url;
}

function jsonError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
}

async function startFakeHarbor(): Promise<FakeHarbor> {
  const valid = new Map<string, Set<string>>(); // token → scopes
  let issued = 0;
  const fake = {
    registryLog: [] as Logged[],
    tokenLog: [] as Logged[],
    storageLog: [] as Logged[],
    foreignLog: [] as Logged[],
    faults: [] as Fault[],
    manifests: new Map<string, { body: Buffer; contentType: string }>(),
    blobs: new Map<string, Buffer>(),
    tokenBody: (token: string): Record<string, unknown> => ({ token, expires_in: 1800, issued_at: new Date().toISOString() }),
    revokeAll: () => valid.clear(),
    mode: 'bearer' as FakeHarbor['mode'],
  };

  const token = await listen((req, res) => {
    const url = log(fake.tokenLog, req);
    const scopes = url.searchParams.getAll('scope');
    const expected = `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
    const granted = req.headers.authorization === expected ? scopes : []; // Harbor: wrong credentials → 200, a token granting nothing
    const value = `tok-${++issued}`;
    valid.set(value, new Set(granted));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(fake.tokenBody(value)));
  });
  const storage = await listen((req, res) => {
    const url = log(fake.storageLog, req);
    if (req.headers.authorization) {
      res.writeHead(400, { 'content-type': 'application/xml' }).end('<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>');
      return;
    }
    if (url.searchParams.get('X-Amz-Expires') === '0') {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
      return;
    }
    const blob = fake.blobs.get(url.pathname.slice('/data/'.length));
    if (!blob) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': blob.length }).end(blob);
  });
  const foreign = await listen((req, res) => {
    log(fake.foreignLog, req);
    res.writeHead(200).end('foreign bytes');
  });

  let registryUrl = '';
  const registry = await listen((req, res) => {
    const url = log(fake.registryLog, req);
    for (const [i, fault] of fake.faults.entries()) {
      if (fault(req, res, url)) {
        fake.faults.splice(i, 1);
        return;
      }
    }
    const challenge = (scope?: string) =>
      fake.mode === 'basic'
        ? 'Basic realm="fake"'
        : `Bearer realm="${token.url}/service/token",service="harbor-registry"${scope ? `,scope="${scope}"` : ''}`;
    const authorized = (scope: string): boolean => {
      const header = req.headers.authorization ?? '';
      if (fake.mode === 'anonymous') return true;
      if (fake.mode === 'basic') return header === `Basic ${Buffer.from(`${USER.username}:${USER.password}`).toString('base64')}`;
      return header.startsWith('Bearer ') && (valid.get(header.slice(7))?.has(scope) ?? false);
    };
    if (url.pathname === '/v2/') {
      if (fake.mode === 'anonymous') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return jsonError(res, 401, 'UNAUTHORIZED', 'authentication required', { 'www-authenticate': challenge() });
    }
    const match = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match) return jsonError(res, 404, 'NOT_FOUND', 'not found');
    const [, repo, kind, reference] = match as unknown as [string, string, string, string];
    const scope = `repository:${repo}:pull`;
    if (!authorized(scope)) {
      return jsonError(res, 401, 'UNAUTHORIZED', `unauthorized to access repository: ${repo}, action: pull`, { 'www-authenticate': challenge(scope) });
    }
    if (kind === 'manifests') {
      const manifest = fake.manifests.get(`${repo}/${reference}`);
      if (!manifest) return jsonError(res, 404, 'NOT_FOUND', `artifact ${repo}:${reference} not found`);
      // distribution refuses an OCI index to clients that do not accept it (field case B1).
      if (!String(req.headers.accept ?? '').includes(manifest.contentType)) return jsonError(res, 404, 'MANIFEST_UNKNOWN', 'OCI index found, but accept header does not support OCI indexes');
      res.writeHead(200, { 'content-type': manifest.contentType, 'content-length': manifest.body.length, 'docker-content-digest': digestOf('not these bytes') });
      return void res.end(manifest.body);
    }
    if (!fake.blobs.has(reference.replace(/^sha(256|512):/, ''))) return jsonError(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    res.writeHead(307, { location: `${storage.url}/data/${reference.replace(/^sha(256|512):/, '')}?X-Amz-Signature=s3cr3tsig&X-Amz-Credential=AKIA` }).end();
  });
  registryUrl = registry.url;

  return Object.assign(fake, {
    registryUrl,
    host: new URL(registryUrl).host,
    tokenUrl: token.url,
    storageUrl: storage.url,
    foreignUrl: foreign.url,
    close: async () => {
      for (const s of [registry.server, token.server, storage.server, foreign.server]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  });
}

// ---- fixtures built from bytes, digests computed ----

interface Built {
  body: Buffer;
  digest: Digest;
  descriptor: Descriptor;
}

function blob(fake: FakeHarbor, bytes: Buffer, mediaType: string): Descriptor {
  const digest = digestOf(bytes);
  fake.blobs.set(digest.slice('sha256:'.length), bytes);
  return { mediaType, digest, size: bytes.length };
}

function manifest(fake: FakeHarbor, value: object, contentType: string, tag?: string, repo = REPO): Built {
  const body = Buffer.from(JSON.stringify(value));
  const digest = digestOf(body);
  fake.manifests.set(`${repo}/${digest}`, { body, contentType });
  if (tag) fake.manifests.set(`${repo}/${tag}`, { body, contentType });
  return { body, digest, descriptor: { mediaType: contentType, digest, size: body.length } };
}

function image(fake: FakeHarbor, arch: string, layers: Descriptor[], tag?: string): Built {
  const config = blob(fake, Buffer.from(JSON.stringify({ architecture: arch, os: 'linux' })), 'application/vnd.oci.image.config.v1+json');
  return manifest(fake, { schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociManifest, config, layers }, MANIFEST_MEDIA_TYPES.ociManifest, tag);
}

describe('registry client against protocol stand-ins', () => {
  let fake: FakeHarbor;
  let client: RegistryClient;
  let sleeps: number[];
  const newClient = (credentials: typeof USER | undefined = USER) =>
    createRegistryClient({
      baseUrl: fake.registryUrl,
      credentials,
      retry: createRetryPolicy({ sleep: async (ms) => void sleeps.push(ms), random: () => 0, maxAttempts: 3 }),
    });

  beforeEach(async () => {
    fake = await startFakeHarbor();
    sleeps = [];
    client = newClient();
  });
  afterEach(async () => {
    await client.close();
    await fake.close();
  });

  const ref = (suffix: string) => parseImageRef(`${fake.host}/${REPO}${suffix}`);

  it('resolves an OCI index to the platform entry, skipping attestations, with one token for exactly the pull scope', async () => {
    const amdLayer = blob(fake, Buffer.from('amd64 layer'), LAYER_MEDIA_TYPES.ociGzip);
    const armLayer = blob(fake, Buffer.from('arm64 layer'), LAYER_MEDIA_TYPES.ociZstd);
    const amd = image(fake, 'amd64', [amdLayer]);
    const arm = image(fake, 'arm64', [armLayer]);
    const attestation = image(fake, 'unknown', []);
    const index = manifest(
      fake,
      {
        schemaVersion: 2,
        mediaType: MANIFEST_MEDIA_TYPES.ociIndex,
        manifests: [
          { ...attestation.descriptor, platform: { os: 'unknown', architecture: 'unknown' } },
          { ...amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } },
          { ...arm.descriptor, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        ],
      },
      MANIFEST_MEDIA_TYPES.ociIndex,
      'v1',
    );

    const resolved = await client.resolve(ref(':v1'), parsePlatform('linux/arm64'));
    expect(resolved).toMatchObject({ manifestDigest: arm.digest, indexDigest: index.digest, mediaType: MANIFEST_MEDIA_TYPES.ociManifest, platform: 'linux/arm64', layers: [armLayer] });
    const again = await client.resolve(ref(':v1'), parsePlatform('linux/amd64'));
    expect(again.manifestDigest).toBe(amd.digest);

    expect(fake.tokenLog).toHaveLength(1);
    const tokenUrl = new URL(fake.tokenLog[0]!.url, 'http://x');
    expect(tokenUrl.searchParams.getAll('scope')).toEqual([`repository:${REPO}:pull`]);
    expect(tokenUrl.searchParams.get('service')).toBe('harbor-registry');
    const manifestGets = fake.registryLog.filter((r) => r.path.includes('/manifests/'));
    expect(manifestGets).toHaveLength(4);
    for (const request of manifestGets) {
      for (const type of Object.values(MANIFEST_MEDIA_TYPES)) expect(request.headers.accept).toContain(type);
      expect(request.headers['accept-encoding']).toBe('identity');
    }
    // GET /v2/ once per client: the challenge is cached.
    expect(fake.registryLog.filter((r) => r.path === '/v2/')).toHaveLength(1);
  });

  it('fails PLATFORM_NOT_FOUND listing the platforms, and MANIFEST_INVALID for an index inside an index', async () => {
    const amd = image(fake, 'amd64', []);
    const inner = manifest(fake, { schemaVersion: 2, mediaType: MANIFEST_MEDIA_TYPES.ociIndex, manifests: [{ ...amd.descriptor, platform: { os: 'linux', architecture: 'amd64' } }] }, MANIFEST_MEDIA_TYPES.ociIndex);
    manifest(fake, { schemaVersion: 2, manifests: [{ ...inner.descriptor, platform: { os: 'linux', architecture: 'amd64' } }] }, MANIFEST_MEDIA_TYPES.ociIndex, 'nested');
    const missing = await failure(client.resolve(ref(':nested'), parsePlatform('linux/s390x')));
    expect(missing.code).toBe('PLATFORM_NOT_FOUND');
    expect(missing.message).toContain('linux/amd64');
    expect((await failure(client.resolve(ref(':nested'), parsePlatform('linux/amd64')))).code).toBe('MANIFEST_INVALID');
  });

  it('computes the manifest digest from the bytes, ignoring Docker-Content-Digest (B2), and verifies sha512 references (E1)', async () => {
    const built = image(fake, 'amd64', [], 'v2');
    expect((await client.resolve(ref(':v2'), parsePlatform('linux/amd64'))).manifestDigest).toBe(built.digest);
    const sha512 = digestOf(built.body, 'sha512');
    fake.manifests.set(`${REPO}/${sha512}`, { body: built.body, contentType: MANIFEST_MEDIA_TYPES.ociManifest });
    expect((await client.resolve(ref(`@${sha512}`), parsePlatform('linux/amd64'))).manifestDigest).toBe(sha512);
  });

  it('fails DIGEST_MISMATCH when a digest reference serves other bytes, after its retries', async () => {
    const built = image(fake, 'amd64', []);
    const other = image(fake, 'arm64', []);
    fake.manifests.set(`${REPO}/${built.digest}`, { body: other.body, contentType: MANIFEST_MEDIA_TYPES.ociManifest });
    const err = await failure(client.resolve(ref(`@${built.digest}`), parsePlatform('linux/amd64')));
    expect(err.code).toBe('DIGEST_MISMATCH');
    expect(fake.registryLog.filter((r) => r.path.includes('/manifests/'))).toHaveLength(3);
  });

  it('refuses manifests over 4 MiB, announced or chunked', async () => {
    fake.faults.push((_req, res, url) => {
      if (!url.pathname.includes('/manifests/')) return false;
      res.writeHead(200, { 'content-type': MANIFEST_MEDIA_TYPES.ociManifest, 'content-length': 5 * 1024 * 1024 });
      res.write('{'); // the rest never comes: the client must refuse on the announced length alone
      return true;
    });
    expect((await failure(client.resolve(ref(':big'), parsePlatform('linux/amd64')))).code).toBe('MANIFEST_TOO_LARGE');
    fake.faults.push((_req, res, url) => {
      if (!url.pathname.includes('/manifests/')) return false;
      res.writeHead(200, { 'content-type': MANIFEST_MEDIA_TYPES.ociManifest });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      for (let i = 0; i < 5; i++) res.write(chunk);
      res.end();
      return true;
    });
    expect((await failure(client.resolve(ref(':big'), parsePlatform('linux/amd64')))).code).toBe('MANIFEST_TOO_LARGE');
  });

  it("maps Harbor's 404 NOT_FOUND for a missing tag to IMAGE_NOT_FOUND without retrying (H1)", async () => {
    const err = await failure(client.resolve(ref(':nope'), parsePlatform('linux/amd64')));
    expect(err.code).toBe('IMAGE_NOT_FOUND');
    expect(sleeps).toEqual([]);
  });

  it('refuses schema1 manifests naming the type (B4)', async () => {
    manifest(fake, { schemaVersion: 1, name: REPO, tag: 'old', fsLayers: [] }, 'application/vnd.docker.distribution.manifest.v1+prettyjws', 'old');
    fake.faults.push((req, res, url) => {
      if (!url.pathname.endsWith('/manifests/old')) return false;
      res.writeHead(200, { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }).end('{"schemaVersion":1}');
      return true;
    });
    const err = await failure(client.resolve(ref(':old'), parsePlatform('linux/amd64')));
    expect(err.code).toBe('UNSUPPORTED_MANIFEST');
    expect(err.message).toContain('v1+prettyjws');
  });

  it('does not send registry credentials to the storage host on a 307 redirect (A1)', async () => {
    const bytes = Buffer.from('the layer bytes '.repeat(1000));
    const layer = blob(fake, bytes, LAYER_MEDIA_TYPES.dockerGzip);
    const body = await client.openBlob(ref(':v1'), layer);
    expect(Buffer.from(await body.toArray().then((chunks) => Buffer.concat(chunks)))).toEqual(bytes);
    expect(fake.storageLog).toHaveLength(1);
    expect(fake.storageLog[0]!.headers.authorization).toBeUndefined();
    expect(fake.storageLog[0]!.headers['accept-encoding']).toBe('identity');
    const blobGet = fake.registryLog.find((r) => r.path.includes('/blobs/') && r.headers.authorization);
    expect(blobGet?.headers.authorization).toMatch(/^Bearer tok-/);
  });

  it('follows a relative Location on the registry origin (with auth) before storage (A3)', async () => {
    const bytes = Buffer.from('relative');
    const layer = blob(fake, bytes, LAYER_MEDIA_TYPES.ociTar);
    fake.faults.push((_req, res, url) => {
      if (!url.pathname.includes('/blobs/')) return false;
      res.writeHead(302, { location: `../../${REPO.split('/')[1]}/blobs/${layer.digest}?hop=2` }).end();
      return true;
    });
    const body = await client.openBlob(ref(':v1'), layer);
    expect(await text(body)).toBe('relative');
    const hops = fake.registryLog.filter((r) => r.path.includes('/blobs/'));
    expect(hops.at(-1)?.url).toContain('hop=2');
    expect(hops.at(-1)?.headers.authorization).toMatch(/^Bearer /);
  });

  it('refuses non-http(s) redirects and redirect loops with REDIRECT_REFUSED', async () => {
    const layer = blob(fake, Buffer.from('x'), LAYER_MEDIA_TYPES.ociTar);
    fake.faults.push((_req, res, url) => url.pathname.includes('/blobs/') && !!res.writeHead(307, { location: 'file:///etc/passwd' }).end());
    expect((await failure(client.openBlob(ref(':v1'), layer))).code).toBe('REDIRECT_REFUSED');
    for (let i = 0; i < 10; i++) fake.faults.push((_req, res, url) => url.pathname.includes('/blobs/') && !!res.writeHead(303, { location: url.pathname }).end());
    const loop = await failure(client.openBlob(ref(':v1'), layer));
    expect(loop.code).toBe('REDIRECT_REFUSED');
    expect(loop.message).toContain('more than 5 redirects');
  });

  it('fetches a fresh redirect on each retry when storage fails', async () => {
    const layer = blob(fake, Buffer.from('retry me'), LAYER_MEDIA_TYPES.ociTar);
    let storageFails = 1;
    const storageServer = fake.storageUrl;
    fake.faults.push((_req, res, url) => {
      if (!url.pathname.includes('/blobs/') || storageFails-- <= 0) return false;
      res.writeHead(307, { location: `${storageServer}/data/${layer.digest.slice(7)}?X-Amz-Expires=0&X-Amz-Signature=abc` }).end();
      return true;
    });
    expect(await text(await client.openBlob(ref(':v1'), layer))).toBe('retry me');
    expect(fake.registryLog.filter((r) => r.path.includes('/blobs/') && r.headers.authorization)).toHaveLength(2);
  });

  it('refuses a Content-Encoding other than identity (F4) and a Content-Length other than the size (E3)', async () => {
    const layer = blob(fake, Buffer.from('abc'), LAYER_MEDIA_TYPES.ociTar);
    fake.faults.push((_req, res, url) => url.pathname.includes('/blobs/') && !!res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': 3 }).end('abc'));
    const encoded = await failure(client.openBlob(ref(':v1'), layer));
    expect(encoded.code).toBe('REGISTRY_ERROR');
    expect(encoded.message).toContain('Content-Encoding gzip');
    fake.faults.push((_req, res, url) => url.pathname.includes('/blobs/') && !!res.writeHead(200, { 'content-length': 4 }).end('abcd'));
    // Not retried by the client (the same request gets the same length); the delivery retries it.
    expect((await failure(client.openBlob(ref(':v1'), layer))).code).toBe('SIZE_MISMATCH');
    expect(sleeps).toEqual([]);
  });

  it('fetches foreign layers from the registry, never from their urls (K1)', async () => {
    const bytes = Buffer.from('foreign layer served by the registry');
    const layer = { ...blob(fake, bytes, LAYER_MEDIA_TYPES.dockerForeignGzip), urls: [`${fake.foreignUrl}/layer.tgz`] };
    expect(await text(await client.openBlob(ref(':v1'), layer))).toBe(bytes.toString());
    expect(fake.foreignLog).toHaveLength(0);
  });

  it('refreshes a rejected token once and carries on (G1)', async () => {
    const built = image(fake, 'amd64', [], 'v1');
    await client.resolve(ref(':v1'), parsePlatform('linux/amd64'));
    fake.revokeAll();
    expect((await client.resolve(ref(':v1'), parsePlatform('linux/amd64'))).manifestDigest).toBe(built.digest);
    expect(fake.tokenLog).toHaveLength(2);
  });

  it("reports DENIED after one refresh for Harbor's empty-access token (wrong password), without retrying or leaking secrets (H2)", async () => {
    image(fake, 'amd64', [], 'v1');
    await client.close();
    client = newClient({ username: USER.username, password: 'wrong-password-xyz' });
    const err = await failure(client.resolve(ref(':v1'), parsePlatform('linux/amd64')));
    expect(err.code).toBe('DENIED');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(`credentials rejected or no pull permission for ${REPO}`);
    expect(err.message).toContain('denied or not found');
    expect(fake.tokenLog).toHaveLength(2);
    expect(sleeps).toEqual([]);
    const shown = JSON.stringify({ message: err.message, details: err.details });
    expect(shown).not.toContain('wrong-password-xyz');
    expect(shown).not.toContain('tok-');
  });

  it('takes the first non-empty of token and access_token (G2)', async () => {
    fake.tokenBody = (token) => ({ access_token: '', token });
    image(fake, 'amd64', [], 'v1');
    await expect(client.resolve(ref(':v1'), parsePlatform('linux/amd64'))).resolves.toBeDefined();
    fake.tokenBody = (token) => ({ token: '', access_token: token });
    fake.revokeAll();
    await expect(client.resolve(ref(':v1'), parsePlatform('linux/amd64'))).resolves.toBeDefined();
  });

  it('shares one token fetch between concurrent requests', async () => {
    image(fake, 'amd64', [], 'v1');
    await Promise.all(Array.from({ length: 5 }, () => client.resolve(ref(':v1'), parsePlatform('linux/amd64'))));
    expect(fake.tokenLog).toHaveLength(1);
  });

  it('waits as Retry-After says on 429 and 503, then succeeds (G3)', async () => {
    const built = image(fake, 'amd64', [], 'v1');
    fake.faults.push((_req, res, url) => url.pathname.includes('/manifests/') && (jsonError(res, 429, 'TOOMANYREQUESTS', 'slow down', { 'retry-after': '2' }), true));
    fake.faults.push((_req, res, url) => url.pathname.includes('/manifests/') && (res.writeHead(503, { 'retry-after': '1', 'content-type': 'text/html' }).end('<html>busy</html>'), true));
    expect((await client.resolve(ref(':v1'), parsePlatform('linux/amd64'))).manifestDigest).toBe(built.digest);
    expect(sleeps).toEqual([2000, 1000]);
  });

  it('retries a connection reset, and a reset mid-blob resumed at a storage that ignores Range fails retryably without appending', async () => {
    const built = image(fake, 'amd64', [], 'v1');
    fake.faults.push((_req, res, url) => url.pathname.includes('/manifests/') && (res.socket?.destroy(), true));
    expect((await client.resolve(ref(':v1'), parsePlatform('linux/amd64'))).manifestDigest).toBe(built.digest);
    expect(sleeps).toHaveLength(1);

    const layer = blob(fake, Buffer.alloc(1024 * 1024, 1), LAYER_MEDIA_TYPES.ociTar);
    fake.faults.push((_req, res, url) => {
      if (!url.pathname.includes('/blobs/')) return false;
      res.writeHead(200, { 'content-length': layer.size });
      res.write(Buffer.alloc(1000, 1), () => res.socket?.destroy());
      return true;
    });
    const body = await client.openBlob(ref(':v1'), layer);
    let received = 0;
    body.on('data', (chunk: Buffer) => (received += chunk.length));
    const err = await failure(new Promise((resolve, reject) => body.on('end', resolve).on('error', reject)));
    // The resume went to the registry again (fresh redirect) and the fake storage answered 200 to the Range.
    expect(err.code).toBe('REGISTRY_ERROR');
    expect(err.message).toContain('Range ignored');
    expect(err.retryable).toBe(true);
    expect(received).toBe(1000);
    expect(fake.storageLog.at(-1)?.headers.range).toBe('bytes=1000-');
  });

  it('gives up on a registry that is down with REGISTRY_UNAVAILABLE after the policy attempts', async () => {
    const down = createRegistryClient({ baseUrl: 'http://127.0.0.1:1', retry: createRetryPolicy({ sleep: async (ms) => void sleeps.push(ms), maxAttempts: 2 }) });
    const err = await failure(down.resolve(parseImageRef('127.0.0.1:1/p/a:v1'), parsePlatform('linux/amd64')));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(sleeps).toHaveLength(1);
    await down.close();
  });

  it('sends Basic credentials directly to a Basic-challenge registry and nothing to an anonymous one', async () => {
    fake.mode = 'basic';
    image(fake, 'amd64', [], 'v1');
    await client.resolve(ref(':v1'), parsePlatform('linux/amd64'));
    expect(fake.tokenLog).toHaveLength(0);
    expect(fake.registryLog.at(-1)?.headers.authorization).toMatch(/^Basic /);

    await client.close();
    fake.mode = 'anonymous';
    client = newClient();
    await client.resolve(ref(':v1'), parsePlatform('linux/amd64'));
    expect(fake.registryLog.at(-1)?.headers.authorization).toBeUndefined();
  });
});

describe('token source caching', () => {
  let fake: FakeHarbor;
  let dispatcher: Agent;
  beforeAll(async () => {
    fake = await startFakeHarbor();
    dispatcher = new Agent();
  });
  afterAll(async () => {
    await dispatcher.close();
    await fake.close();
  });

  it('reuses a token until shortly before expires_in, defaulting to 60 s', async () => {
    let now = 1_000_000;
    const tokens = createTokenSource({ dispatcher, registry: fake.host, credentials: USER, now: () => now });
    const req = { realm: `${fake.tokenUrl}/service/token`, service: 'harbor-registry', scopes: [`repository:${REPO}:pull`] };
    fake.tokenBody = (token) => ({ token }); // no expires_in: 60 s
    const first = await tokens.token(req);
    now += 49_000;
    expect(await tokens.token(req)).toBe(first);
    now += 2_000; // 51 s: inside the 10 s refresh margin
    const second = await tokens.token(req);
    expect(second).not.toBe(first);
    // Scope order does not matter; a different scope set is a different token.
    expect(await tokens.token({ ...req, scopes: [...req.scopes] })).toBe(second);
    expect(await tokens.token({ ...req, scopes: ['repository:other/app:pull'] })).not.toBe(second);
    tokens.invalidate(req, 'stale-token');
    expect(await tokens.token(req)).toBe(second);
    tokens.invalidate(req, second);
    expect(await tokens.token(req)).not.toBe(second);
  });
});

describe('registry client against the Harbor stand-in (real distribution registry)', () => {
  const { standIn, fixtures } = useStandIn();
  const client = createRegistryClient({ baseUrl: standIn.url, credentials: standIn.users.admin });
  afterAll(() => client.close());

  const platformsOf = Object.values(fixtures).flatMap((fixture) => fixture.platforms.map((image) => ({ fixture, image })));

  it.each(platformsOf.map(({ fixture, image }) => [`${fixture.name} ${image.platform}`, fixture, image] as const))(
    'resolves %s and its blobs hash to their digests',
    async (_name, fixture, image) => {
      const ref = parseImageRef(fixture.ref);
      const resolved = await client.resolve(ref, parsePlatform(image.platform));
      expect(resolved.manifestDigest).toBe(image.manifestDigest);
      expect(resolved.config.digest).toBe(image.configDigest);
      expect(resolved.layers.map((l) => l.digest)).toEqual(image.layers.map((l) => l.digest));
      if (fixture.manifestDigest !== image.manifestDigest) expect(resolved.indexDigest).toBe(fixture.manifestDigest);
      for (const layer of resolved.layers) {
        const hash = createHash(layer.digest.split(':')[0]!);
        let size = 0;
        for await (const chunk of await client.openBlob(ref, layer)) {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        }
        expect(`${layer.digest.split(':')[0]}:${hash.digest('hex')}`).toBe(layer.digest);
        expect(size).toBe(layer.size);
      }
    },
  );

  it('resolves each multi-platform fixture for linux/amd64 and linux/arm64 when it has them', async () => {
    for (const fixture of Object.values(fixtures)) {
      for (const want of ['linux/amd64', 'linux/arm64']) {
        const expected = fixture.platforms.find((p) => p.platform.startsWith(want));
        if (!expected) continue;
        const resolved = await client.resolve(parseImageRef(fixture.ref), parsePlatform(want));
        expect(resolved.manifestDigest, `${fixture.name} ${want}`).toBe(expected.manifestDigest);
      }
    }
  });

  it("reports DENIED for a wrong password (Harbor's empty-access token) and pulls public projects anonymously (H2)", async () => {
    const noRetry = createRetryPolicy({ maxAttempts: 1 });
    const wrong = createRegistryClient({ baseUrl: standIn.url, credentials: { username: standIn.users.robot.username, password: 'not-the-password' }, retry: noRetry });
    const anonymous = createRegistryClient({ baseUrl: standIn.url, retry: noRetry });
    try {
      const err = await failure(wrong.resolve(parseImageRef(fixtures['docker-single'].ref), parsePlatform('linux/amd64')));
      expect(err.code).toBe('DENIED');
      expect(err.message).toContain(fixtures['docker-single'].repository);
      expect(JSON.stringify({ m: err.message, d: err.details })).not.toContain('not-the-password');
      expect((await failure(anonymous.resolve(parseImageRef(fixtures['docker-single'].ref), parsePlatform('linux/amd64')))).code).toBe('DENIED');
      const hello = await anonymous.resolve(parseImageRef(fixtures['public-hello'].ref), parsePlatform('linux/amd64'));
      expect(hello.manifestDigest).toBe(fixtures['public-hello'].manifestDigest);
    } finally {
      await wrong.close();
      await anonymous.close();
    }
  });

  it('reports IMAGE_NOT_FOUND for a missing tag', async () => {
    const some = Object.values(fixtures)[0]!;
    const err = await failure(client.resolve(parseImageRef(`${standIn.host}/${some.repository}:no-such-tag`), parsePlatform('linux/amd64')));
    expect(err.code).toBe('IMAGE_NOT_FOUND');
  });
});
