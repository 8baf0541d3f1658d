import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { createApiApp } from '../../functions/api/app.ts';
import { createStatusApp } from '../../functions/status/app.ts';
import { handleJob } from '../../functions/worker/handle-job.ts';
import type { StoredObject } from '../../shared/blob-store.ts';
import { createAccessControl } from '../../shared/auth/create-access-control.ts';
import type { RelayConfig } from '../../shared/config.ts';
import { RelayError } from '../../shared/errors.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import { prepareLocalPaths } from '../../shared/prepare-local-paths.ts';
import { SqliteCopyLeases } from '../../shared/leases/sqlite-copy-leases.ts';
import type { Logger } from '../../shared/log.ts';
import { SqliteJobQueue } from '../../shared/queue/sqlite-job-queue.ts';
import { SqliteRecordStore } from '../../shared/records/sqlite-record-store.ts';
import { createRegistryClient } from '../../shared/registry/registry-client.ts';
import { SingleFlight } from '../../shared/single-flight.ts';
import { FileBlobStore } from '../../shared/store/file-blob-store.ts';
import { createSignedObjectApp } from '../../shared/store/signed-object-app.ts';
import { startWorkerLoop, type WorkerLoop } from './worker-loop.ts';

/** A running local relay: api + status + signed object URLs + worker loop in one process. */
export interface LocalRelay {
  /** Base URL the server answers on, e.g. http://127.0.0.1:8080. */
  url: string;
  stop(): Promise<void>;
}

/** Test and tuning knobs that are not part of the operator's configuration. */
export interface LocalRelayOptions {
  log: Logger;
  /** Seconds before the first retry of a failed attempt (tests use 0). */
  retryBaseDelaySeconds?: number;
}

/**
 * Wires the local mode (design.md §2): directory store, SQLite queue and records, the three
 * functions' Hono apps on one @hono/node-server, and an in-process worker loop.
 */
export async function startLocalRelay(config: RelayConfig, options: LocalRelayOptions): Promise<LocalRelay> {
  if (config.store.kind !== 'file' || config.queue.kind !== 'sqlite') {
    throw new RelayError('CONFIG_INVALID', 'the local server needs RELAY_STORE=file:DIR and RELAY_QUEUE=sqlite:FILE');
  }
  if (config.harbor.credentialsParameter !== undefined) {
    // Read only by the AWS worker (SSM): ignored here, the relay would pull anonymously and fail DENIED later.
    throw new RelayError('CONFIG_INVALID', 'HARBOR_CREDENTIALS_PARAMETER is for AWS mode (SSM); the local server takes HARBOR_USERNAME and HARBOR_PASSWORD');
  }
  const { log } = options;
  prepareLocalPaths(config); // a path that cannot be used is CONFIG_INVALID naming its variable
  const queue = new SqliteJobQueue({ path: config.queue.path });
  const records = new SqliteRecordStore(queue.database);
  const registry = createRegistryClient({
    baseUrl: config.harbor.url.origin,
    ...(config.harbor.credentials ? { credentials: config.harbor.credentials } : {}),
    foreignHosts: config.harbor.foreignHosts,
    onResume: (offset, cause) => log.info('blob download resumed with Range', { offset, code: cause.code }),
  });

  // The port may be 0 (tests): listen first, then sign URLs with the real address.
  let publicBaseUrl = config.publicUrl;
  const store = await FileBlobStore.open({ root: config.store.dir, publicBaseUrl: () => publicBaseUrl });

  // Leases live in the queue's file, which every relay on this store shares: one of them copies a digest.
  const leases = new SqliteCopyLeases({ database: queue.database });
  const workerDeps = { registry, store, records, copies: new SingleFlight<StoredObject>(), leases, log, limits: config.limits };
  // Started only once the server listens: a relay that cannot serve must not keep taking jobs (h2 B9).
  let worker: WorkerLoop | undefined;
  const wakingQueue = {
    send: async (message: Parameters<SqliteJobQueue['send']>[0]) => {
      await queue.send(message);
      worker?.wake();
    },
  };

  const app = new Hono();
  installErrorHandling(app, log);
  app.get('/healthz', (c) => c.json({ ok: true }));
  const access = createAccessControl(config, { log });
  if (access.mode === 'none') log.warn('RELAY_AUTH=none: callers are not authenticated (loopback only)', { host: config.host });
  const webhook = { secret: config.webhookSecret, platforms: config.webhookPlatforms };
  app.route('/', createApiApp({ allowedRegistry: config.harbor.registry, records, queue: wakingQueue, store, urlTtlSeconds: config.urlTtlSeconds, log, access, webhook }));
  app.route('/', createStatusApp({ records, store, urlTtlSeconds: config.urlTtlSeconds, log, access, allowedRegistry: config.harbor.registry }));
  app.route('/', createSignedObjectApp(store));

  let server: ServerType;
  try {
    server = await listen(app, config.host, config.port);
  } catch (err) {
    queue.close();
    await registry.close();
    throw listenError(err, config.host, config.port);
  }
  worker = startWorkerLoop({
    queue,
    concurrency: config.workerConcurrency,
    log,
    handle: (job) => handleJob(workerDeps, job.body, job.receiveCount, { maxAttempts: config.maxAttempts, ...(options.retryBaseDelaySeconds === undefined ? {} : { retryBaseDelaySeconds: options.retryBaseDelaySeconds }) }),
  });
  const running = worker;
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  // PORT=0 without RELAY_PUBLIC_URL: the default names port 0, so sign with the port really bound.
  if (new URL(config.publicUrl).port === '0') publicBaseUrl = url;
  log.info('relay listening', { url, registry: config.harbor.registry, store: config.store.dir });

  return {
    url,
    stop: async () => {
      await running.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if ('closeIdleConnections' in server) server.closeIdleConnections();
      await closed;
      queue.close();
    },
  };
}

/** A port in use or not allowed is the operator's setting to change, not an internal fault. */
function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new RelayError('CONFIG_INVALID', `${host}:${port} is in use (another relay?); stop it or set PORT`, { cause: err });
  if (code === 'EACCES') return new RelayError('CONFIG_INVALID', `not allowed to listen on ${host}:${port}; choose a PORT above 1023 or grant the capability`, { cause: err });
  if (code === 'EADDRNOTAVAIL') return new RelayError('CONFIG_INVALID', `${host} is not an address of this machine; check HOST`, { cause: err });
  return err;
}

function listen(app: Hono, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, () => resolve(server));
    server.once('error', reject);
  });
}
