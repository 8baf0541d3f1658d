import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import type { ImageRef } from '../image-ref.ts';
import type { Platform } from '../platform.ts';
import { redactUrl } from '../redact.ts';
import { createRetryPolicy, type RetryPolicy } from '../retry-policy.ts';
import type { Descriptor } from './descriptor.ts';
import { createManifestFetcher } from './fetch-manifest.ts';
import { createGuardedConnector } from './guarded-connect.ts';
import { createBlobOpener } from './open-blob.ts';
import { createRegistryAuth } from './registry-auth.ts';
import { createRegistryRequest } from './registry-request.ts';
import { resolveImage, type ResolvedImage } from './resolve-image.ts';
import type { Credentials } from './token-source.ts';

export type { Descriptor } from './descriptor.ts';
export type { Credentials } from './token-source.ts';
export type { ResolvedImage } from './resolve-image.ts';
export { MAX_MANIFEST_BYTES } from './fetch-manifest.ts';

/** The registry client the worker uses. */
export interface RegistryClient {
  /** Resolves `ref` to one image manifest for `platform`. */
  resolve(ref: ImageRef, platform: Platform): Promise<ResolvedImage>;
  /**
   * Exactly the bytes of a blob, as a stream that resumes itself with Range after a broken
   * connection. Not verified here: the caller's store hashes and counts them (a verify-digest
   * stream). A layer's `urls` are used only for hosts in `foreignHosts`, never with credentials.
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
  /**
   * An undici dispatcher; by default an Agent with the timeouts below whose connector refuses
   * link-local and metadata addresses (guarded-connect.ts). One given here must do the same (build
   * its Agent with `connect: createGuardedConnector(...)`): only URL text is checked otherwise.
   */
  readonly dispatcher?: Dispatcher | undefined;
  readonly userAgent?: string | undefined;
  /** Hosts (`host` or `host:port`) whose foreign-layer URLs may be fetched (RELAY_FOREIGN_HOSTS); default none. */
  readonly foreignHosts?: readonly string[] | undefined;
  /** Told about each Range resume of a blob, for logs. */
  readonly onResume?: ((offset: number, cause: RelayError) => void) | undefined;
}

/** Identifies us in registry logs. */
export const DEFAULT_USER_AGENT = 'layer-relay/0.1';
/** A registry that does not accept a connection within 10 s is down for our purposes. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Harbor answers headers within seconds; 60 s leaves room for a slow storage redirect. */
const HEADERS_TIMEOUT_MS = 60_000;
/** A body that stalls for 60 s between chunks is dead: the blob stream resumes with Range. */
const BODY_TIMEOUT_MS = 60_000;

/** A client for the distribution API at `options.baseUrl` (Harbor, or the CNCF registry itself). */
export function createRegistryClient(options: RegistryClientOptions): RegistryClient {
  const baseUrl = parseBaseUrl(options.baseUrl);
  const registry = baseUrl.host;
  const ownsDispatcher = options.dispatcher === undefined;
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connect: createGuardedConnector({ exemptHostname: baseUrl.hostname, timeout: CONNECT_TIMEOUT_MS }),
      headersTimeout: HEADERS_TIMEOUT_MS,
      bodyTimeout: BODY_TIMEOUT_MS,
    });
  const retry = options.retry ?? createRetryPolicy();
  const userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
  const auth = createRegistryAuth({ baseUrl, registry, dispatcher, credentials: options.credentials, userAgent });
  const request = createRegistryRequest({ baseUrl, dispatcher, auth, userAgent });
  const fetchManifest = createManifestFetcher(request, retry, registry);
  const foreignHosts = new Set((options.foreignHosts ?? []).map((host) => host.toLowerCase()));
  const openBlob = createBlobOpener({ request, retry, registry, dispatcher, userAgent, foreignHosts, onResume: options.onResume });

  return {
    resolve: (ref, platform) => resolveImage(fetchManifest, openBlob, ref, platform),
    openBlob,
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
