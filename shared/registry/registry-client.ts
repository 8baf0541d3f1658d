import { PassThrough, type Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { digestOf, splitDigest, type Digest, type DigestAlgorithm } from '../digest.ts';
import { RelayError } from '../errors.ts';
import { manifestReference, type ImageRef } from '../image-ref.ts';
import { formatPlatform, normalizePlatform, selectPlatform, type Platform } from '../platform.ts';
import { redactUrl } from '../redact.ts';
import { createRetryPolicy, type RetryPolicy } from '../retry-policy.ts';
import type { Descriptor } from './descriptor.ts';
import { followRedirects, type FollowedResponse } from './follow-redirects.ts';
import { MANIFEST_ACCEPT } from './media-types.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { readCapped } from './read-capped.ts';
import { createRegistryAuth } from './registry-auth.ts';
import type { Credentials } from './token-source.ts';
import { contextDetails, networkError, readWireErrors, registryError, type RegistryErrorContext } from './wire-error.ts';

export type { Descriptor } from './descriptor.ts';
export type { Credentials } from './token-source.ts';

/** The image manifest chosen for a platform, and what it lists. */
export interface ResolvedImage {
  /** Digest of the chosen image manifest, computed from its bytes. */
  manifestDigest: Digest;
  mediaType: string;
  /** Digest of the index the tag pointed at, when it pointed at one. */
  indexDigest?: Digest;
  /** `os/arch[/variant]` of the chosen index entry, when there was an index. */
  platform?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** The registry client the worker uses. */
export interface RegistryClient {
  /** Resolves `ref` to one image manifest for `platform`. */
  resolve(ref: ImageRef, platform: Platform): Promise<ResolvedImage>;
  /**
   * The raw bytes of a blob, as a stream. Not verified here: the caller's store hashes and counts
   * them (a verify-digest stream). A layer's `urls` are never used: blobs come from the registry.
   */
  openBlob(ref: ImageRef, descriptor: Descriptor): Promise<Readable>;
  /** Closes the connection pool when the client created it. */
  close(): Promise<void>;
}

/** Options for {@link createRegistryClient}. */
export interface RegistryClientOptions {
  /** Scheme and origin of the registry (HARBOR_URL), e.g. `http://127.0.0.1:5000`. Every request goes here, whatever host a reference names. */
  readonly baseUrl: string;
  readonly credentials?: Credentials | undefined;
  readonly retry?: RetryPolicy | undefined;
  /** An undici dispatcher; by default an Agent with the timeouts below. */
  readonly dispatcher?: Dispatcher | undefined;
  readonly userAgent?: string | undefined;
}

/** Manifests are small (distribution itself refuses to store more than 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Identifies us in registry logs. */
export const DEFAULT_USER_AGENT = 'layer-relay/0.1';
/** A registry that does not accept a connection within 10 s is down for our purposes. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Harbor answers headers within seconds; 60 s leaves room for a slow storage redirect. */
const HEADERS_TIMEOUT_MS = 60_000;
/** A body that stalls for 60 s between chunks is dead; the retry policy takes over. */
const BODY_TIMEOUT_MS = 60_000;

/** A client for the distribution API at `options.baseUrl` (Harbor, or the CNCF registry itself). */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const baseUrl = parseBaseUrl(options.baseUrl);
  const registry = baseUrl.host;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ?? new Agent({ connectTimeout: CONNECT_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS, bodyTimeout: BODY_TIMEOUT_MS });
  const retry = options.retry ?? createRetryPolicy();
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const auth = createRegistryAuth({ baseUrl, registry, dispatcher, credentials: options.credentials, userAgent });

  /**
   * One GET on the registry with auth: 1) ping /v2/ once per client (cached challenge);
   * 2) Authorization for `repository:<repo>:pull`; 3) GET, redirects followed without the
   * registry's Authorization off its origin; 4) on a 401 from the registry, learn its challenge,
   * drop the token and try once more with a fresh one. Whatever answer remains is returned.
   */
  const authorizedGet = async (path: string, repository: string, headers: Record<string, string>, context: RegistryErrorContext): Promise<FollowedResponse> => {
    const scopes = [`repository:${repository}:pull`];
    const url = new URL(path, baseUrl);
    const send = async (authorization: string | undefined) =>
      followRedirects({ url, dispatcher, headers: { ...headers, 'user-agent': userAgent }, authorization, trustedOrigin: baseUrl.origin, context });
    let grant = await auth.authorize(scopes);
    let answer = await send(grant.authorization);
    if (answer.response.statusCode === 401 && answer.fromRegistry) {
      const challenge = answer.response.headers['www-authenticate'];
      if (auth.challenged(challenge, grant)) {
        await answer.response.body.dump().catch(() => undefined);
        grant = await auth.authorize(scopes);
        answer = await send(grant.authorization);
      }
    }
    return answer;
  };

  /** Throws the RelayError for a non-success answer (reading its capped error body). */
  const failFor = async (answer: FollowedResponse, context: RegistryErrorContext): Promise<never> => {
    const errors = await readWireErrors(answer.response.body);
    throw registryError(answer.response.statusCode, errors, {
      ...context,
      operation: answer.fromRegistry ? context.operation : 'storage',
      url: answer.url,
      retryAfter: answer.response.headers['retry-after'],
    });
  };

  /** A manifest by tag or digest, its digest computed from the bytes (never Docker-Content-Digest: field case B2). */
  const fetchManifest = (ref: ImageRef, reference: string, expected: Digest | undefined) =>
    retry.retry(async () => {
      const context: RegistryErrorContext = { operation: 'manifest', registry, repository: ref.repository, reference };
      const answer = await authorizedGet(`/v2/${ref.repository}/manifests/${reference}`, ref.repository, {
        // All four types on every manifest request (B1); identity so the bytes are the ones hashed (F4).
        accept: MANIFEST_ACCEPT,
        'accept-encoding': 'identity',
      }, context);
      const { response } = answer;
      if (response.statusCode !== 200) return failFor(answer, context);
      refuseContentEncoding(answer, context);
      const declared = Number(response.headers['content-length']);
      if (declared > MAX_MANIFEST_BYTES) {
        discard(response.body);
        throw tooLarge(context);
      }
      let bytes: Buffer | undefined;
      try {
        bytes = await readCapped(response.body, MAX_MANIFEST_BYTES);
      } catch (err) {
        throw networkError(err, { ...context, url: answer.url });
      }
      if (bytes === undefined) throw tooLarge(context);
      const algorithm: DigestAlgorithm = expected ? splitDigest(expected).algorithm : 'sha256';
      const digest = digestOf(bytes, algorithm);
      if (expected !== undefined && digest !== expected) {
        throw new RelayError('DIGEST_MISMATCH', `manifest ${expected} hashes to ${digest}`, { details: { ...contextDetails(context), actual: digest } });
      }
      const contentType = response.headers['content-type'];
      let manifest: Manifest;
      try {
        manifest = parseManifest(bytes, typeof contentType === 'string' ? contentType : undefined);
      } catch (err) {
        if (err instanceof RelayError) throw withContext(err, context);
        throw err;
      }
      return { digest, manifest };
    });

  return {
    // 1) ping and 2) token happen inside authorizedGet; 3) the manifest by tag or digest;
    // 4) an index → one platform's entry → that child by digest, verified the same way.
    async resolve(ref, platform) {
      const top = await fetchManifest(ref, manifestReference(ref), ref.digest);
      if (top.manifest.kind === 'image') {
        return { manifestDigest: top.digest, mediaType: top.manifest.mediaType, config: top.manifest.config, layers: [...top.manifest.layers] };
      }
      const entry = selectPlatform(top.manifest.manifests, platform);
      const child = await fetchManifest(ref, entry.digest, entry.digest);
      if (child.manifest.kind !== 'image') {
        throw new RelayError('MANIFEST_INVALID', `index ${top.digest} points at another index ${entry.digest} for ${formatPlatform(platform)}`, {
          details: { registry, repository: ref.repository, digest: entry.digest },
        });
      }
      return {
        manifestDigest: child.digest,
        mediaType: child.manifest.mediaType,
        indexDigest: top.digest,
        ...(entry.platform ? { platform: formatPlatform(normalizePlatform(entry.platform)) } : {}),
        config: child.manifest.config,
        layers: [...child.manifest.layers],
      };
    },

    openBlob(ref, descriptor) {
      return retry.retry(async () => {
        const context: RegistryErrorContext = { operation: 'blob', registry, repository: ref.repository, reference: descriptor.digest };
        // Always from the registry, never from descriptor.urls (foreign layers: field case K1).
        const answer = await authorizedGet(`/v2/${ref.repository}/blobs/${descriptor.digest}`, ref.repository, { 'accept-encoding': 'identity' }, context);
        const { response } = answer;
        if (response.statusCode !== 200) return failFor(answer, context);
        refuseContentEncoding(answer, context);
        const declared = response.headers['content-length'];
        if (declared !== undefined && Number(declared) !== descriptor.size) {
          discard(response.body);
          throw new RelayError('SIZE_MISMATCH', `${descriptor.digest} should be ${descriptor.size} bytes, the server announced ${declared}`, {
            details: { ...contextDetails({ ...context, url: answer.url }), size: descriptor.size, contentLength: Number(declared) },
          });
        }
        return mapStreamErrors(response.body, (err) => networkError(err, { ...context, url: answer.url }));
      });
    },

    async close() {
      if (ownsDispatcher) await dispatcher.close();
    },
  };
}

function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new RelayError('CONFIG_INVALID', `registry URL "${redactUrl(value)}" is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new RelayError('CONFIG_INVALID', `registry URL must be http or https, not ${url.protocol}`);
  }
  return new URL(url.origin);
}

/** A re-encoded body no longer hashes to its digest (field case F4): refused, not decoded. */
function refuseContentEncoding(answer: FollowedResponse, context: RegistryErrorContext): void {
  const encoding = answer.response.headers['content-encoding'];
  const value = (Array.isArray(encoding) ? encoding.join(',') : (encoding ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return;
  discard(answer.response.body);
  throw new RelayError('REGISTRY_ERROR', `the server sent Content-Encoding ${value.slice(0, 50)} despite Accept-Encoding: identity; the bytes would not match the digest`, {
    details: { ...contextDetails({ ...context, url: answer.url }), contentEncoding: value.slice(0, 50) },
  });
}

function tooLarge(context: RegistryErrorContext): RelayError {
  return new RelayError('MANIFEST_TOO_LARGE', `manifest ${context.reference ?? ''} is larger than ${MAX_MANIFEST_BYTES} bytes`, {
    details: contextDetails(context),
  });
}

/** The parse error with where it happened, same code and message. */
function withContext(err: RelayError, context: RegistryErrorContext): RelayError {
  return new RelayError(err.code, err.message, { cause: err.cause, details: { ...contextDetails(context), ...err.details } });
}

/** Drops a response body we will not read; undici reports the abort as an error nobody needs. */
function discard(body: Readable): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** The body, with transport errors mid-stream turned into retryable RelayErrors; destroying it aborts the request. */
function mapStreamErrors(body: Readable, map: (err: unknown) => RelayError): Readable {
  const out = new PassThrough();
  body.on('error', (err) => out.destroy(map(err)));
  out.on('close', () => {
    if (!body.destroyed) body.destroy();
  });
  body.pipe(out);
  return out;
}
