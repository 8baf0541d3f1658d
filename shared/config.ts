import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { AuthMode } from './auth/access-control.ts';
import { resolveAccessSettings } from './auth/access-settings.ts';
import type { ApiToken } from './auth/api-tokens.ts';
import { envInteger } from './env-integer.ts';
import { RelayError } from './errors.ts';
import { canonicalRegistry } from './image-ref.ts';
import { parsePlatform, type Platform } from './platform.ts';
import { DEFAULT_MAX_BLOB_BYTES, DEFAULT_MAX_LAYERS, type PullLimits } from './pull-limits.ts';
import { readEnv } from './read-env.ts';
import { isForbiddenHost } from './registry/forbidden-host.ts';

/** Signed URLs live 15 minutes unless configured: long enough for a large download to start, short enough to leak little. */
export const DEFAULT_URL_TTL_SECONDS = 900;
/** Local data lives beside the working directory, like most dev servers' state. */
export const DEFAULT_STORE = 'file:./.relay-data';
/** A delivery that failed this many times (transient faults) marks its pull failed: SQS's common maxReceiveCount. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** Copies at once per worker process: two streams keep a 2-core machine's disk and network busy. */
export const DEFAULT_WORKER_CONCURRENCY = 2;

/** Where objects are kept. */
export type StoreConfig = { kind: 'file'; dir: string } | { kind: 's3'; bucket: string; prefix: string; endpoint?: string; forcePathStyle: boolean };
/** Where jobs wait. */
export type QueueConfig = { kind: 'sqlite'; path: string } | { kind: 'sqs'; url: string };
/** Where pull records live: beside a SQLite queue (same file), or as JSON objects in the bucket with an SQS queue. */
export type RecordsConfig = { kind: 'sqlite' } | { kind: 's3'; bucket: string; prefix: string };

/** The relay's configuration, validated once at start (design.md §4). */
export interface RelayConfig {
  harbor: {
    /** Origin the relay talks to, e.g. https://harbor.example.com. */
    url: URL;
    /** `host[:port]` that image references must name (the registry allowlist), default port dropped as parseImageRef does. */
    registry: string;
    credentials?: { username: string; password: string };
    /** SSM Parameter Store name (SecureString, JSON `{"username","password"}`) read at cold start in AWS. */
    credentialsParameter?: string;
    /** RELAY_FOREIGN_HOSTS: hosts (`host` or `host:port`) foreign-layer URLs may be fetched from; absent: layers always come from Harbor (field case K1). */
    foreignHosts?: string[];
  };
  store: StoreConfig;
  queue: QueueConfig;
  records: RecordsConfig;
  /** AWS_REGION, which the S3 and SQS adapters need (Lambda always sets it). */
  awsRegion?: string;
  host: string;
  port: number;
  /** Base of signed local object URLs; defaults to http://HOST:PORT. */
  publicUrl: string;
  urlTtlSeconds: number;
  /** RELAY_AUTH: who may call the API (shared/auth/access-settings.ts decides the default). */
  auth: AuthMode;
  /** RELAY_TOKENS / RELAY_TOKENS_FILE, with RELAY_AUTH=token. */
  apiTokens?: ApiToken[];
  webhookSecret?: string;
  /** RELAY_WEBHOOK_PLATFORMS: what a Harbor push event prefetches. */
  webhookPlatforms: Platform[];
  /** RELAY_MAX_LAYERS, RELAY_MAX_BLOB_BYTES: enforced by the worker before copying. */
  limits: PullLimits;
  maxAttempts: number;
  workerConcurrency: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** S3 presigned URLs live at most 7 days (SigV4), so neither does a signed URL of ours. */
const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

/** Every field optional or defaulted: readEnv reads a value that does not parse as unset and goes on. */
const EnvSchema = z.object({
  HARBOR_URL: z.url({ protocol: /^https?$/, error: 'HARBOR_URL must be an http(s) URL, e.g. https://harbor.example.com' }).optional(),
  HARBOR_USERNAME: z.string().optional(),
  HARBOR_PASSWORD: z.string().optional(),
  HARBOR_CREDENTIALS_PARAMETER: z.string().regex(/^[a-zA-Z0-9_.\/-]{1,2048}$/, 'HARBOR_CREDENTIALS_PARAMETER must be an SSM parameter name, e.g. /layer-relay/harbor').optional(),
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'S3_ENDPOINT must be an http(s) URL of an S3-compatible endpoint' }).optional(),
  S3_FORCE_PATH_STYLE: z.enum(['true', 'false', '1', '0'], { error: 'S3_FORCE_PATH_STYLE must be true or false' }).optional(),
  RELAY_RECORDS: z.string().optional(),
  AWS_REGION: z.string().regex(/^[a-z0-9-]{1,32}$/, 'AWS_REGION must look like us-east-1').optional(),
  RELAY_FOREIGN_HOSTS: z.string().optional(),
  RELAY_STORE: z.string().default(DEFAULT_STORE),
  RELAY_QUEUE: z.string().optional(),
  HOST: z.string().default('127.0.0.1'),
  PORT: envInteger('PORT', 0, 65535).default(8080),
  RELAY_PUBLIC_URL: z.url({ protocol: /^https?$/, error: 'RELAY_PUBLIC_URL must be an http(s) URL, e.g. https://relay.example.com' }).optional(),
  RELAY_URL_TTL: envInteger('RELAY_URL_TTL', 1, MAX_URL_TTL_SECONDS, 'seconds; 7 days is the S3 presigned URL limit').default(DEFAULT_URL_TTL_SECONDS),
  RELAY_AUTH: z.enum(['none', 'harbor', 'token'], { error: 'RELAY_AUTH must be harbor, token or none' }).optional(),
  RELAY_TOKENS: z.string().optional(),
  RELAY_TOKENS_FILE: z.string().optional(),
  RELAY_WEBHOOK_PLATFORMS: z.string().default('linux/amd64'),
  RELAY_MAX_LAYERS: envInteger('RELAY_MAX_LAYERS', 1, 10_000).default(DEFAULT_MAX_LAYERS),
  RELAY_MAX_BLOB_BYTES: envInteger('RELAY_MAX_BLOB_BYTES', 1, undefined, 'bytes').default(DEFAULT_MAX_BLOB_BYTES),
  RELAY_WEBHOOK_SECRET: z.string().min(16, 'RELAY_WEBHOOK_SECRET must be at least 16 characters (Harbor sends it in the Authorization header)').optional(),
  RELAY_MAX_ATTEMPTS: envInteger('RELAY_MAX_ATTEMPTS', 1, 100).default(DEFAULT_MAX_ATTEMPTS),
  RELAY_WORKER_CONCURRENCY: envInteger('RELAY_WORKER_CONCURRENCY', 1, 64).default(DEFAULT_WORKER_CONCURRENCY),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'LOG_LEVEL must be debug, info, warn or error' }).default('info'),
});

/** Reads and validates the environment once; every problem is reported in one CONFIG_INVALID error. */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): RelayConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const problems: string[] = [];
  const { values: e, invalid } = readEnv(EnvSchema, cleaned, problems);

  const url = parseHarborUrl(e.HARBOR_URL, invalid.has('HARBOR_URL'), problems);
  if ((e.HARBOR_USERNAME === undefined) !== (e.HARBOR_PASSWORD === undefined)) {
    problems.push('HARBOR_USERNAME and HARBOR_PASSWORD: set both, or neither for anonymous pulls');
  }
  if (e.HARBOR_CREDENTIALS_PARAMETER !== undefined && e.HARBOR_USERNAME !== undefined) {
    problems.push('HARBOR_CREDENTIALS_PARAMETER and HARBOR_USERNAME/HARBOR_PASSWORD: set one source of credentials, not both');
  }
  const store = parseStore(e.RELAY_STORE, cwd, problems, e.S3_ENDPOINT, e.S3_FORCE_PATH_STYLE === 'true' || e.S3_FORCE_PATH_STYLE === '1');
  const queue = parseQueue(e.RELAY_QUEUE, store, cwd, problems);
  const foreignHosts = parseForeignHosts(e.RELAY_FOREIGN_HOSTS, problems);
  const records = parseRecords(e.RELAY_RECORDS, store, queue, problems);
  if ((store.kind === 's3' || queue.kind === 'sqs') && e.AWS_REGION === undefined) problems.push('AWS_REGION: required with an s3:// store or an SQS queue (Lambda sets it)');
  // Only the file store signs with publicUrl (S3 signs its own); a wildcard address is where the server listens, not where hosts connect.
  if (store.kind === 'file' && cleaned.RELAY_PUBLIC_URL === undefined && isWildcard(e.HOST)) {
    problems.push(`RELAY_PUBLIC_URL: HOST=${e.HOST} listens on every interface, which no signed URL can name: set RELAY_PUBLIC_URL to the URL hosts use to reach this relay, e.g. http://relay.example.com:${e.PORT}`);
  }
  const publicHost = e.RELAY_PUBLIC_URL === undefined ? e.HOST : new URL(e.RELAY_PUBLIC_URL).hostname.replace(/^\[(.*)\]$/, '$1');
  // With RELAY_AUTH unreadable, the mode's own checks would only guess at what was meant.
  const access = invalid.has('RELAY_AUTH')
    ? { auth: 'harbor' as const }
    : resolveAccessSettings(
        {
          requested: e.RELAY_AUTH,
          tokens: e.RELAY_TOKENS,
          tokensFile: e.RELAY_TOKENS_FILE,
          host: e.HOST,
          hostLoopback: isLoopback(e.HOST),
          publicLoopback: isLoopback(publicHost),
          lambda: cleaned.AWS_LAMBDA_FUNCTION_NAME !== undefined,
          fileStore: store.kind === 'file',
        },
        problems,
      );
  const webhookPlatforms = parseWebhookPlatforms(e.RELAY_WEBHOOK_PLATFORMS, problems);
  if (problems.length > 0 || url === undefined) throw configError(problems);

  return {
    harbor: {
      url: new URL(url.origin),
      registry: canonicalRegistry(url.host),
      ...(e.HARBOR_USERNAME !== undefined && e.HARBOR_PASSWORD !== undefined ? { credentials: { username: e.HARBOR_USERNAME, password: e.HARBOR_PASSWORD } } : {}),
      ...(e.HARBOR_CREDENTIALS_PARAMETER !== undefined ? { credentialsParameter: e.HARBOR_CREDENTIALS_PARAMETER } : {}),
      ...(foreignHosts.length > 0 ? { foreignHosts } : {}),
    },
    store,
    queue,
    records,
    ...(e.AWS_REGION !== undefined ? { awsRegion: e.AWS_REGION } : {}),
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.RELAY_PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    urlTtlSeconds: e.RELAY_URL_TTL,
    ...access,
    ...(e.RELAY_WEBHOOK_SECRET !== undefined ? { webhookSecret: e.RELAY_WEBHOOK_SECRET } : {}),
    webhookPlatforms,
    limits: { maxLayers: e.RELAY_MAX_LAYERS, maxBlobBytes: e.RELAY_MAX_BLOB_BYTES },
    maxAttempts: e.RELAY_MAX_ATTEMPTS,
    workerConcurrency: e.RELAY_WORKER_CONCURRENCY,
    logLevel: e.LOG_LEVEL,
  };
}

/** HARBOR_URL: required, and only scheme, host and port (the relay adds /v2/ and /service/token itself). */
function parseHarborUrl(value: string | undefined, unparsable: boolean, problems: string[]): URL | undefined {
  if (value === undefined) {
    if (!unparsable) problems.push('HARBOR_URL: required: the Harbor to relay from, e.g. https://harbor.example.com');
    return undefined;
  }
  const url = new URL(value);
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') problems.push('HARBOR_URL: give only scheme, host and port, e.g. https://harbor.example.com');
  return url;
}

/** 0.0.0.0 and :: (any spelling the URL parser normalises to them): listen on every interface. */
function isWildcard(host: string): boolean {
  try {
    const { hostname } = new URL(`http://${host.includes(':') ? `[${host}]` : host}`);
    return hostname === '0.0.0.0' || hostname === '[::]';
  } catch {
    return false;
  }
}

/** RELAY_WEBHOOK_PLATFORMS: comma-separated `os/arch[/variant]`. */
function parseWebhookPlatforms(value: string, problems: string[]): Platform[] {
  const platforms: Platform[] = [];
  const texts = value.split(',').map((part) => part.trim()).filter(Boolean);
  for (const text of texts) {
    try {
      platforms.push(parsePlatform(text));
    } catch (err) {
      problems.push(`RELAY_WEBHOOK_PLATFORMS: ${(err as Error).message}`);
    }
  }
  if (texts.length === 0) problems.push('RELAY_WEBHOOK_PLATFORMS: name at least one platform, e.g. linux/amd64');
  return platforms;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** RELAY_FOREIGN_HOSTS: comma-separated `host[:port]`; link-local and metadata hosts are refused outright. */
function parseForeignHosts(value: string | undefined, problems: string[]): string[] {
  const hosts = (value ?? '').split(',').map((host) => host.trim().toLowerCase()).filter(Boolean);
  for (const host of hosts) {
    let url: URL | undefined;
    try {
      url = new URL(`http://${host}`);
    } catch {
      url = undefined;
    }
    if (url === undefined || url.host !== host.replace(/:80$/, '')) problems.push(`RELAY_FOREIGN_HOSTS: "${host.slice(0, 100)}" is not host[:port]`);
    else if (isForbiddenHost(url.hostname)) problems.push(`RELAY_FOREIGN_HOSTS: "${host}" is a link-local or cloud metadata address`);
  }
  return hosts;
}

function parseStore(value: string, cwd: string, problems: string[], endpoint: string | undefined, forcePathStyle: boolean): StoreConfig {
  if (value.startsWith('file:')) {
    const dir = value.slice('file:'.length);
    if (dir === '') problems.push('RELAY_STORE: file: needs a directory, e.g. file:./.relay-data');
    return { kind: 'file', dir: isAbsolute(dir) ? dir : resolve(cwd, dir) };
  }
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (s3) {
    return { kind: 's3', bucket: s3[1]!, prefix: (s3[2] ?? '').replace(/\/+$/, ''), ...(endpoint === undefined ? {} : { endpoint }), forcePathStyle };
  }
  problems.push(`RELAY_STORE: "${value}" is neither file:DIR nor s3://BUCKET[/PREFIX]`);
  return { kind: 'file', dir: cwd };
}

function parseQueue(value: string | undefined, store: StoreConfig, cwd: string, problems: string[]): QueueConfig {
  if (value === undefined) {
    return { kind: 'sqlite', path: store.kind === 'file' ? resolve(store.dir, 'relay.sqlite') : resolve(cwd, '.relay-data/relay.sqlite') };
  }
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    return { kind: 'sqlite', path: path === ':memory:' || isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (/^https?:\/\/[^/?#]+\/[^/?#]+\/[^/?#]+$/.test(value)) {
    // An SQS queue URL: https://sqs.REGION.amazonaws.com/ACCOUNT/NAME (or an SQS-compatible endpoint's).
    if (store.kind !== 's3') problems.push('RELAY_QUEUE: an SQS queue needs an s3:// RELAY_STORE (its pull records live in the bucket)');
    return { kind: 'sqs', url: value };
  }
  problems.push(`RELAY_QUEUE: "${value.slice(0, 100)}" is neither sqlite:FILE nor an SQS queue URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME)`);
  return { kind: 'sqlite', path: ':memory:' };
}

/** Records follow the queue: SQLite records share its file; with SQS they are JSON objects in a bucket. */
function parseRecords(value: string | undefined, store: StoreConfig, queue: QueueConfig, problems: string[]): RecordsConfig {
  if (queue.kind === 'sqlite') {
    if (value !== undefined) problems.push('RELAY_RECORDS: only used with an SQS queue (records share the SQLite file otherwise)');
    return { kind: 'sqlite' };
  }
  if (value !== undefined) {
    const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
    if (!s3) problems.push(`RELAY_RECORDS: "${value.slice(0, 100)}" is not s3://BUCKET[/PREFIX]`);
    return { kind: 's3', bucket: s3?.[1] ?? '', prefix: (s3?.[2] ?? '').replace(/\/+$/, '') };
  }
  // Default: beside the objects, under `records/`, so one bucket (and one lifecycle) holds everything.
  const base = store.kind === 's3' ? store.prefix : '';
  return { kind: 's3', bucket: store.kind === 's3' ? store.bucket : '', prefix: base === '' ? 'records' : `${base}/records` };
}

/** One CONFIG_INVALID error listing every problem, the way loadConfig reports them. */
export function configError(problems: string[]): RelayError {
  return new RelayError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
}
