import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { RelayError } from './errors.ts';

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

/** The relay's configuration, validated once at start (design.md §4). */
export interface RelayConfig {
  harbor: {
    /** Origin the relay talks to, e.g. https://harbor.example.com. */
    url: URL;
    /** `host[:port]` that image references must name (the registry allowlist). */
    registry: string;
    credentials?: { username: string; password: string };
  };
  store: StoreConfig;
  queue: QueueConfig;
  host: string;
  port: number;
  /** Base of signed local object URLs; defaults to http://HOST:PORT. */
  publicUrl: string;
  urlTtlSeconds: number;
  auth: 'none';
  webhookSecret?: string;
  maxAttempts: number;
  workerConcurrency: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const port = z.coerce.number().int().min(0).max(65535);
const positive = z.coerce.number().int().positive();

const EnvSchema = z.object({
  HARBOR_URL: z.url({ protocol: /^https?$/, error: 'HARBOR_URL must be an http(s) URL, e.g. https://harbor.example.com' }),
  HARBOR_USERNAME: z.string().optional(),
  HARBOR_PASSWORD: z.string().optional(),
  RELAY_STORE: z.string().default(DEFAULT_STORE),
  RELAY_QUEUE: z.string().optional(),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(8080),
  RELAY_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  RELAY_URL_TTL: positive.max(7 * 24 * 3600, 'RELAY_URL_TTL is at most 7 days (S3 presigned URL limit)').default(DEFAULT_URL_TTL_SECONDS),
  RELAY_AUTH: z.enum(['none'], { error: 'RELAY_AUTH: only "none" is implemented in this version (harbor and token are planned)' }).default('none'),
  RELAY_WEBHOOK_SECRET: z.string().min(16).optional(),
  RELAY_MAX_ATTEMPTS: positive.max(100).default(DEFAULT_MAX_ATTEMPTS),
  RELAY_WORKER_CONCURRENCY: positive.max(64).default(DEFAULT_WORKER_CONCURRENCY),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

/** Reads and validates the environment once; every problem is reported in one CONFIG_INVALID error. */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): RelayConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  const problems: string[] = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.') || 'env'}: ${issue.message}`);
  if (!parsed.success) throw configError(problems);
  const e = parsed.data;

  const url = new URL(e.HARBOR_URL);
  if (url.pathname !== '/' || url.search !== '' || url.username !== '') problems.push('HARBOR_URL: give only scheme, host and port, e.g. https://harbor.example.com');
  if ((e.HARBOR_USERNAME === undefined) !== (e.HARBOR_PASSWORD === undefined)) {
    problems.push('HARBOR_USERNAME and HARBOR_PASSWORD: set both, or neither for anonymous pulls');
  }
  const store = parseStore(e.RELAY_STORE, cwd, problems);
  const queue = parseQueue(e.RELAY_QUEUE, store, cwd, problems);
  if (e.RELAY_AUTH === 'none' && !isLoopback(e.HOST)) {
    problems.push(`RELAY_AUTH=none is refused when listening on ${e.HOST}: listen on 127.0.0.1 or ::1 only`);
  }
  if (problems.length > 0) throw configError(problems);

  return {
    harbor: {
      url: new URL(url.origin),
      registry: url.host.toLowerCase(),
      ...(e.HARBOR_USERNAME !== undefined && e.HARBOR_PASSWORD !== undefined ? { credentials: { username: e.HARBOR_USERNAME, password: e.HARBOR_PASSWORD } } : {}),
    },
    store,
    queue,
    host: e.HOST,
    port: e.PORT,
    publicUrl: (e.RELAY_PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`).replace(/\/+$/, ''),
    urlTtlSeconds: e.RELAY_URL_TTL,
    auth: e.RELAY_AUTH,
    ...(e.RELAY_WEBHOOK_SECRET !== undefined ? { webhookSecret: e.RELAY_WEBHOOK_SECRET } : {}),
    maxAttempts: e.RELAY_MAX_ATTEMPTS,
    workerConcurrency: e.RELAY_WORKER_CONCURRENCY,
    logLevel: e.LOG_LEVEL,
  };
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseStore(value: string, cwd: string, problems: string[]): StoreConfig {
  if (value.startsWith('file:')) {
    const dir = value.slice('file:'.length);
    if (dir === '') problems.push('RELAY_STORE: file: needs a directory, e.g. file:./.relay-data');
    return { kind: 'file', dir: isAbsolute(dir) ? dir : resolve(cwd, dir) };
  }
  const s3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(value);
  if (s3) {
    problems.push('RELAY_STORE: s3:// stores are not available in this version; use file:DIR');
    return { kind: 's3', bucket: s3[1]!, prefix: (s3[2] ?? '').replace(/\/+$/, ''), forcePathStyle: false };
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
  problems.push(`RELAY_QUEUE: "${value.slice(0, 100)}" is not sqlite:FILE (SQS queues are not available in this version)`);
  return { kind: 'sqlite', path: ':memory:' };
}

function configError(problems: string[]): RelayError {
  return new RelayError('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
}
