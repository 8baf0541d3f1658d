import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { buildImage, type BuiltImage, type FixturePlatform } from '../../../infra/local/fixtures/image-builder.ts';
import { buildIndex, type BuiltIndex } from '../../../infra/local/fixtures/index-builder.ts';
import { buildLayer } from '../../../infra/local/fixtures/layer-tar.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import type { StandInUser } from '../../../infra/local/harbor-users.ts';
import type { PullRecord } from '../../../shared/pull-record.ts';
import type { StandInInfo } from '../../support/standin-context.ts';

/** One HTTP exchange with the relay, kept so a test can grep every body it received. */
export interface Exchange {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** `Authorization: Basic ...` for a stand-in login. */
export function basic(user: StandInUser): string {
  return `Basic ${Buffer.from(`${user.username}:${user.password}`, 'utf8').toString('base64')}`;
}

/** A small client for the relay that records every answer in `seen`. */
export function relayHttp(baseUrl: string, seen: Exchange[] = []) {
  const call = async (method: string, path: string, options: { authorization?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Exchange> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.authorization) headers.authorization = options.authorization;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    }
    const response = await fetch(new URL(path, baseUrl), { method, headers, ...(body === undefined ? {} : { body }), redirect: 'manual' });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const exchange = { status: response.status, headers: response.headers, text, json };
    seen.push(exchange);
    return exchange;
  };
  return {
    seen,
    call,
    /** Polls GET /v1/pulls/:id as `authorization` until the pull is done or failed. */
    async waitForPull(id: string, authorization?: string, timeoutMs = 20_000): Promise<PullRecord> {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
        const answer = await call('GET', `/v1/pulls/${id}`, authorization ? { authorization } : {});
        if (answer.status !== 200) throw new Error(`GET /v1/pulls/${id} answered ${answer.status}: ${answer.text}`);
        const record = answer.json as PullRecord;
        if (record.state === 'done' || record.state === 'failed') return record;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`pull ${id} did not finish within ${timeoutMs} ms`);
    },
  };
}

/** How many pull records the relay holds (each queued pull creates one): "nothing queued" is this number staying put. */
export function pullCount(dataDir: string): number {
  const db = new DatabaseSync(join(dataDir, 'relay.sqlite'), { readOnly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM pulls').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A one-layer image with random contents (its digests are new to every relay and registry). */
export async function randomImage(platform: FixturePlatform = { os: 'linux', architecture: 'amd64' }): Promise<BuiltImage> {
  const nonce = randomBytes(8).toString('hex');
  return buildImage({ format: 'oci', platform, layers: [await buildLayer([{ path: 'app.bin', content: Buffer.concat([Buffer.from(nonce), randomBytes(4096)]) }], 'gzip')] });
}

/** Pushes `image` as admin to `repository:tag`; returns the reference. */
export async function pushImageAs(standIn: StandInInfo, repository: string, image: BuiltImage, tag = 'v1'): Promise<string> {
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushImage(repository, image, tag);
  return `${standIn.host}/${repository}:${tag}`;
}

/** A two-platform OCI index (amd64, arm64) plus a buildx-style attestation entry, pushed as admin: children by digest, then the index under `tag`. */
export async function pushMultiArch(standIn: StandInInfo, repository: string, tag = 'v1'): Promise<{ index: BuiltIndex; amd64: BuiltImage; arm64: BuiltImage; attestation: BuiltImage }> {
  const amd64 = await randomImage({ os: 'linux', architecture: 'amd64' });
  const arm64 = await randomImage({ os: 'linux', architecture: 'arm64' });
  const attestation = buildImage({
    format: 'oci',
    platform: { os: 'unknown', architecture: 'unknown' },
    layers: [{ bytes: Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', nonce: randomBytes(8).toString('hex') })), mediaType: 'application/vnd.in-toto+json' }],
  });
  const index = buildIndex('oci', [
    { image: amd64 },
    { image: arm64 },
    { image: attestation, annotations: { 'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': amd64.digest } },
  ]);
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushIndex(repository, index, tag);
  return { index, amd64, arm64, attestation };
}

/** A fresh repository name under `project`. */
export function uniqueRepository(project: string, name: string): string {
  return `${project}/${name}-${randomBytes(5).toString('hex')}`;
}
