import { createHmac, randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, Agent, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { FAULT_HANDLERS, forwardUnchanged, type FaultAction, type FaultContext } from './fault-actions.ts';

export type { FaultAction } from './fault-actions.ts';

/** Which of the proxy's two hosts answered: the registry front, or the "storage" host it redirects to. */
export type ProxyOrigin = 'registry' | 'storage';

/** Which requests a rule applies to; every given field must match. */
export interface FaultMatch {
  method?: string;
  /** Exact path (no query), or a pattern tested against it. Storage requests match by the registry path they serve. */
  path?: string | RegExp;
  /** Default `registry`: a rule for the storage host must say so. */
  origin?: ProxyOrigin;
}

/** A fault to inject into matching requests. */
export interface FaultRule {
  match: FaultMatch;
  /** Apply to the first N matching requests only; default: all of them. */
  times?: number;
  action: FaultAction;
}

/** One request the proxy answered; `ruleApplied` names the action when a rule fired. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  origin: ProxyOrigin;
  /** Body bytes written to the client. */
  bytes: number;
  /** The request's Range header, if any. */
  range?: string;
  /** The request's Accept and Accept-Encoding headers, if any. */
  accept?: string;
  acceptEncoding?: string;
  /** True when the request carried an Authorization header (its value is never kept). */
  authorized: boolean;
  ruleApplied?: FaultAction['type'];
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  /** The storage host's origin (`http://127.0.0.1:PORT2`): another host, as S3 is to Harbor. */
  readonly storageUrl: string;
  /** Every finished request on both hosts, in order of completion. */
  readonly requests: ProxiedRequest[];
  addRule(rule: FaultRule): void;
  clearRules(): void;
  /** Body bytes served for `path` (a blob path) on both hosts so far. */
  bytesServed(path: string): number;
  /** Resolves once every response begun so far has closed, so `requests` is complete. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

interface StorageGrant {
  /** Registry path and query the signed URL serves. */
  readonly path: string;
  /** What storage itself uses upstream (S3 has its own credentials; ours borrows the redirected request's). */
  readonly authorization: string | undefined;
  readonly expiresAt: number;
}

/**
 * An HTTP proxy in front of `target` that forwards everything unchanged, except requests matching a
 * rule, which get the rule's fault. The first matching rule with uses left wins. The client's Host
 * header is forwarded, so the registry's upload Locations name the proxy and stay behind it.
 * A second listener plays object storage for `storageRedirect` rules.
 */
export async function startFaultProxy(options: { target: string }): Promise<FaultProxy> {
  const target = new URL(options.target);
  const agent = new Agent({ keepAlive: true });
  const rules: Array<{ rule: FaultRule; used: number }> = [];
  const requests: ProxiedRequest[] = [];
  const grants = new Map<string, StorageGrant>();
  const signingKey = randomBytes(32);
  let inFlight = 0;
  const idleWaiters: Array<() => void> = [];
  let storageUrl = '';

  const signStorageUrl = (authorization: string | undefined) => (path: string, ttlMs: number): string => {
    const id = randomBytes(8).toString('hex');
    grants.set(id, { path, authorization, expiresAt: Date.now() + ttlMs });
    const signature = createHmac('sha256', signingKey).update(id).digest('hex');
    return `${storageUrl}/storage/${id}?X-Amz-Expires=${Math.ceil(ttlMs / 1000)}&X-Amz-Signature=${signature}`;
  };

  /** Logs the request when it ends, with the body bytes written. */
  const track = (req: IncomingMessage, res: ServerResponse, origin: ProxyOrigin, path: string, action?: FaultAction): void => {
    let bytes = 0;
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    const count = (chunk: unknown) => {
      if (typeof chunk === 'string' || chunk instanceof Uint8Array) bytes += Buffer.byteLength(chunk);
    };
    res.write = ((chunk: unknown, ...rest: unknown[]) => (count(chunk), write(chunk, ...rest))) as typeof res.write;
    res.end = ((chunk?: unknown, ...rest: unknown[]) => (typeof chunk !== 'function' && count(chunk), end(chunk, ...rest))) as typeof res.end;
    const range = req.headers.range;
    inFlight++;
    res.once('close', () => {
      if (--inFlight === 0) for (const wake of idleWaiters.splice(0)) wake();
      requests.push({
        method: req.method ?? 'GET',
        path,
        status: res.statusCode,
        origin,
        bytes,
        authorized: req.headers.authorization !== undefined,
        ...(range ? { range } : {}),
        ...(req.headers.accept ? { accept: req.headers.accept } : {}),
        ...(req.headers['accept-encoding'] ? { acceptEncoding: String(req.headers['accept-encoding']) } : {}),
        ...(action ? { ruleApplied: action.type } : {}),
      });
    });
  };

  /** Finds the rule, then runs its fault or forwards `upstreamPath` with `authorization` (storage) or the client's headers. */
  const dispatch = (req: IncomingMessage, res: ServerResponse, origin: ProxyOrigin, path: string, upstreamPath: string, authorization?: string): void => {
    const method = req.method ?? 'GET';
    const entry = rules.find(({ rule, used }) => (rule.times === undefined || used < rule.times) && matches(rule.match, method, path, origin));
    if (entry) entry.used++;
    const action = entry?.rule.action;
    track(req, res, origin, path, action);
    const ctx: FaultContext = {
      req,
      res,
      forward: (edit) => forward(req, upstreamPath, origin === 'storage' ? authorization : undefined, edit),
      signStorageUrl: signStorageUrl(req.headers.authorization),
    };
    const handled = action ? (FAULT_HANDLERS[action.type] as (ctx: FaultContext, action: FaultAction) => Promise<void>)(ctx, action) : forwardUnchanged(ctx);
    handled.catch(() => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('fault proxy: upstream failed');
      else res.destroy();
    });
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://proxy.invalid').pathname;
    dispatch(req, res, 'registry', path, req.url ?? '/');
  });

  // S3's behaviour for presigned URLs: a second auth mechanism is a 400, an expired or forged signature a 403.
  const storage = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://storage.invalid');
    const id = url.pathname.slice('/storage/'.length);
    const grant = grants.get(id);
    const servedPath = grant ? new URL(grant.path, 'http://proxy.invalid').pathname : url.pathname;
    const refuse = (status: number, code: string, message: string) => {
      track(req, res, 'storage', servedPath);
      res.writeHead(status, { 'content-type': 'application/xml' }).end(`<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    };
    if (req.headers.authorization !== undefined) return refuse(400, 'InvalidArgument', 'Only one auth mechanism allowed');
    const signature = createHmac('sha256', signingKey).update(id).digest('hex');
    if (!grant || url.searchParams.get('X-Amz-Signature') !== signature) return refuse(403, 'SignatureDoesNotMatch', 'signature invalid');
    if (Date.now() > grant.expiresAt) return refuse(403, 'AccessDenied', 'Request has expired');
    dispatch(req, res, 'storage', servedPath, grant.path, grant.authorization);
  });

  function forward(req: IncomingMessage, path: string, authorization: string | undefined, edit?: (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let headers: OutgoingHttpHeaders = { ...req.headers };
      if (authorization !== undefined) headers = { ...headers, authorization, host: target.host };
      if (edit) headers = edit(headers);
      const upstream = httpRequest({ protocol: target.protocol, hostname: target.hostname, port: target.port, path, method: req.method, headers, agent }, resolve);
      upstream.once('error', reject);
      req.pipe(upstream);
    });
  }

  const port = await listen(server);
  storageUrl = `http://127.0.0.1:${await listen(storage)}`;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    storageUrl,
    requests,
    addRule: (rule) => void rules.push({ rule, used: 0 }),
    clearRules: () => void rules.splice(0),
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    bytesServed: (path) => requests.filter((r) => r.path === path).reduce((sum, r) => sum + r.bytes, 0),
    async stop() {
      for (const s of [server, storage]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      agent.destroy();
    },
  };
}

function listen(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}

function matches(match: FaultMatch, method: string, path: string, origin: ProxyOrigin): boolean {
  if ((match.origin ?? 'registry') !== origin) return false;
  if (match.method && match.method.toUpperCase() !== method.toUpperCase()) return false;
  if (match.path === undefined) return true;
  return typeof match.path === 'string' ? match.path === path : match.path.test(path);
}
