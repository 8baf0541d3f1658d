import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buildImage, type BuiltImage, type FixturePlatform } from '../../../infra/local/fixtures/image-builder.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { isRelayError, type RelayError } from '../../../shared/errors.ts';
import { parseImageRef, type ImageRef } from '../../../shared/image-ref.ts';
import { createRegistryClient, type RegistryClient, type RegistryClientOptions } from '../../../shared/registry/registry-client.ts';
import { createRetryPolicy } from '../../../shared/retry-policy.ts';
import type { Descriptor } from '../../../shared/registry/descriptor.ts';
import { verifyDigest } from '../../../shared/verify-digest.ts';
import type { StandInInfo } from '../../support/standin-context.ts';

/*
 * What the field-case tests share (not a test file). One file per kind of ../../../../shared/field-cases.md
 * lives beside this one; each test name starts with its case id.
 */

/** The RelayError a promise rejects with; fails the test when it resolves or throws something else. */
export async function failure(promise: Promise<unknown>): Promise<RelayError> {
  try {
    await promise;
  } catch (err) {
    if (isRelayError(err)) return err;
    throw err;
  }
  throw new Error('expected a RelayError');
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
