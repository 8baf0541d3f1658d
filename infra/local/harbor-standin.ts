import { request as httpRequest, createServer, Agent, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHarborTokenService } from './harbor-token-service.ts';
import { STANDIN_USERS, type StandInUsers } from './harbor-users.ts';
import { startRegistryProcess, type RegistryProcess } from './registry-process.ts';
import { countBlobGets, type LoggedRequest } from './request-log.ts';
import { createTokenSigner } from './token-signer.ts';

/** Harbor names its registry service this in token challenges and `aud` claims. */
export const HARBOR_SERVICE = 'harbor-registry';
/** Harbor's default token lifetime (`token_expiration`, 30 minutes). */
export const DEFAULT_TOKEN_TTL_SECONDS = 1800;
/** Path of the request log endpoint, for test files that run in other processes than the stand-in. */
export const REQUEST_LOG_PATH = '/_standin/requests';

/** Options of {@link startStandIn}. */
export interface StandInOptions {
  /** Lifetime of issued tokens (`expires_in`); short values let tests outlive a token. */
  tokenTtlSeconds?: number;
}

/** A running Harbor stand-in: token service + the real registry behind one loopback origin. */
export interface StandIn {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry host part of image references. */
  readonly host: string;
  readonly users: StandInUsers;
  /** Every request the front answered, in order. */
  readonly requests: LoggedRequest[];
  /** GETs of `/v2/<repo>/blobs/<digest>` so far, optionally for one repository. */
  blobGets(digest: string, repository?: string): number;
  stop(): Promise<void>;
}

/**
 * Starts a Harbor-shaped front on an ephemeral loopback port and the real `docker-registry` behind it:
 * 1. listen first, so the token realm can name the front's port;
 * 2. create the token signing key and certificate, write the registry config, start the registry;
 * 3. answer `/service/token` like Harbor, stream `/v2/*` to the registry unchanged.
 */
export async function startStandIn(options: StandInOptions = {}): Promise<StandIn> {
  const dir = await mkdtemp(join(tmpdir(), 'layer-relay-standin-'));
  const requests: LoggedRequest[] = [];
  const agent = new Agent({ keepAlive: true });
  let registry: RegistryProcess | undefined;
  let handleToken: ReturnType<typeof createHarborTokenService> | undefined;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://front.invalid');
    if (url.pathname === '/service/token' && handleToken) {
      requests.push({ method: req.method ?? 'GET', path: url.pathname, ...handleToken(req, res, url) });
    } else if (url.pathname === REQUEST_LOG_PATH) {
      serveRequestLog(req, res, url, requests);
    } else if ((url.pathname === '/v2' || url.pathname.startsWith('/v2/')) && registry) {
      proxyToRegistry(req, res, registry.origin, agent, (status) => requests.push({ method: req.method ?? 'GET', path: url.pathname, status }));
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"errors":[{"code":"NOT_FOUND","message":"not found"}]}');
    }
  });
  try {
    const port = await listen(server);
    const url = `http://127.0.0.1:${port}`;
    const signer = await createTokenSigner(dir);
    const tokenTtlSeconds = options.tokenTtlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
    handleToken = createHarborTokenService({ signer, users: STANDIN_USERS, service: HARBOR_SERVICE, tokenTtlSeconds });
    registry = await startRegistryProcess(dir, {
      realm: `${url}/service/token`,
      service: HARBOR_SERVICE,
      issuer: signer.issuer,
      rootCertBundle: signer.certPath,
    });
    const running = registry;
    return {
      url,
      host: `127.0.0.1:${port}`,
      users: STANDIN_USERS,
      requests,
      blobGets: (digest, repository) => countBlobGets(requests, digest, repository),
      async stop() {
        await running.stop();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        agent.destroy();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await registry?.stop();
    server.close();
    agent.destroy();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Streams one request to the registry and its answer back, both ways without buffering. The client's
 * Host header is kept, so distribution builds upload `Location`s from the address the client used;
 * any `Location` that still names the registry's own origin is rewritten to the client's.
 */
function proxyToRegistry(req: IncomingMessage, res: ServerResponse, origin: string, agent: Agent, done: (status: number) => void): void {
  const upstream = httpRequest(`${origin}${req.url ?? '/'}`, { method: req.method, headers: req.headers, agent }, (answer) => {
    const headers = { ...answer.headers };
    const location = headers.location;
    if (typeof location === 'string' && location.startsWith(origin) && req.headers.host) {
      headers.location = `http://${req.headers.host}${location.slice(origin.length)}`;
    }
    // Logged when the answer starts, so a download cut off mid-body still counts as a GET.
    done(answer.statusCode ?? 502);
    res.writeHead(answer.statusCode ?? 502, headers);
    answer.pipe(res);
    answer.once('error', () => res.destroy());
  });
  upstream.once('error', (err) => {
    if (res.headersSent) {
      res.destroy(err);
      return;
    }
    res.writeHead(502, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAVAILABLE","message":"registry unreachable"}]}');
    done(502);
  });
  res.once('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** `GET ?since=N` → `{total, requests}` from entry N; `DELETE` empties the log. */
function serveRequestLog(req: IncomingMessage, res: ServerResponse, url: URL, requests: LoggedRequest[]): void {
  if (req.method === 'DELETE') {
    requests.length = 0;
    res.writeHead(204).end();
    return;
  }
  const since = Math.max(0, Number(url.searchParams.get('since') ?? 0) || 0);
  const text = JSON.stringify({ total: requests.length, requests: requests.slice(since) });
  res.writeHead(200, { 'content-type': 'application/json' }).end(text);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}
