import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { buildImage, type BuiltImage, type FixturePlatform } from '../../../infra/local/fixtures/image-builder.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { parseImageRef, type ImageRef } from '../../../shared/image-ref.ts';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../shared/registry/registry-client.ts';
import { createRetryPolicy } from '../../../shared/retry-policy.ts';
import type { Descriptor } from '../../../shared/registry/descriptor.ts';
import { verifyDigest } from '../../../shared/verify-digest.ts';
import { startFaultProxy, type FaultProxy, type ProxiedRequest } from '../../support/fault-proxy.ts';
import type { StandInInfo } from '../../support/standin-context.ts';

/*
 * What the field-case tests share (not a test file). One file per kind of ../../../../shared/field-cases.md
 * lives beside this one; each test name starts with its case id.
 */

export { failure } from '../../support/rejection.ts';

/** A fault proxy shared by one test file, plus what its tests read from it. */
export interface FileFaultProxy extends FaultProxy {
  /** Requests since the current test began; call after `await proxy.idle()`. */
  seen(): ProxiedRequest[];
  /** Starts `seen()` afresh mid-test, for a test that looks at two phases. */
  resetSeen(): void;
  /** `image`, named through the stand-in, named through the proxy instead. */
  viaProxy(image: string): ImageRef;
}

/**
 * A fault proxy in front of the stand-in for the calling file: started before its tests, stopped
 * after; each test starts a fresh `seen()` and leaves no rules behind. Usable at module level
 * because it forwards to the proxy that beforeAll starts.
 */
export function useFaultProxy(standIn: StandInInfo): FileFaultProxy {
  let proxy: FaultProxy | undefined;
  let mark = 0;
  const started = (): FaultProxy => {
    if (!proxy) throw new Error('the fault proxy starts in beforeAll');
    return proxy;
  };
  const resetSeen = () => {
    mark = started().requests.length;
  };
  beforeAll(async () => {
    proxy = await startFaultProxy({ target: standIn.url });
  });
  afterAll(() => proxy?.stop());
  beforeEach(resetSeen);
  afterEach(() => proxy?.clearRules());
  return {
    get url() {
      return started().url;
    },
    get host() {
      return started().host;
    },
    get storageUrl() {
      return started().storageUrl;
    },
    get requests() {
      return started().requests;
    },
    addRule: (rule) => started().addRule(rule),
    clearRules: () => started().clearRules(),
    bytesServed: (path) => started().bytesServed(path),
    idle: () => started().idle(),
    stop: () => started().stop(),
    seen: () => started().requests.slice(mark),
    resetSeen,
    viaProxy: (image) => parseImageRef(image.replace(standIn.host, started().host)),
  };
}

/** Streams `body` through the relay's verifier into nowhere, as the store does; returns the bytes that passed. */
export async function copyVerified(body: Readable, descriptor: Descriptor): Promise<number> {
  const verifier = verifyDigest(descriptor.digest, descriptor.size);
  await pipeline(body, verifier, new Writable({ write: (_chunk, _encoding, done) => done() }));
  return verifier.bytes;
}

/** A pushed image with random layer bytes in a fresh repository (no test sees another's requests). */
export interface PushedImage {
  ref: ImageRef;
  /** `host/repo:v1` for the relay API, naming `host`. */
  image: string;
  repository: string;
  built: BuiltImage;
  blobPath(index: number): string;
}

/** Pushes an image of raw random layers of `sizes` bytes to `team/<name>-<nonce>:v1`, named through `host`. */
export async function pushRandomImage(
  standIn: StandInInfo,
  name: string,
  sizes: number[],
  options: { host?: string; format?: 'oci' | 'docker'; platform?: FixturePlatform } = {},
): Promise<PushedImage> {
  const repository = `team/${name}-${randomBytes(6).toString('hex')}`;
  const built = buildImage({
    format: options.format ?? 'oci',
    platform: options.platform ?? { os: 'linux', architecture: 'amd64' },
    layers: sizes.map((size) => ({ bytes: randomBytes(size), mediaType: 'application/vnd.oci.image.layer.v1.tar' })),
  });
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushImage(repository, built, 'v1');
  const image = `${options.host ?? standIn.host}/${repository}:v1`;
  return { ref: parseImageRef(image), image, repository, built, blobPath: (i) => `/v2/${repository}/blobs/${built.layers[i]!.digest}` };
}

/** The descriptor of layer `index` of a pushed image. */
export function layerOf(pushed: PushedImage, index = 0): Descriptor {
  const layer = pushed.built.layers[index]!;
  return { mediaType: layer.mediaType, digest: layer.digest, size: layer.size };
}

/** A client with the relay's defaults except a recorded, instant sleep (`sleeps`). */
export function createTestClient(baseUrl: string, options: Partial<RegistryClientOptions> & { sleeps?: number[] } = {}): RegistryClient {
  const sleeps = options.sleeps ?? [];
  return createRegistryClient({ baseUrl, retry: createRetryPolicy({ sleep: async (ms) => void sleeps.push(ms) }), ...options });
}

/** Makes the proxy's GET /v2/ answer a 401 with `challenge` once (the client pings once, so this sets its realm). */
export function challengeOnPing(proxy: FaultProxy, challenge: string | string[]): void {
  proxy.addRule({
    match: { method: 'GET', path: '/v2/' },
    times: 1,
    action: {
      type: 'status',
      status: 401,
      headers: { 'www-authenticate': challenge as string, 'content-type': 'application/json' },
      body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
    },
  });
}

/** The `service` the stand-in's own challenge names, for challenges a test writes itself. */
export async function serviceOf(standIn: StandInInfo): Promise<string> {
  const ping = await fetch(`${standIn.url}/v2/`);
  await ping.arrayBuffer();
  return /service="([^"]+)"/.exec(ping.headers.get('www-authenticate') ?? '')?.[1] ?? 'harbor-registry';
}
