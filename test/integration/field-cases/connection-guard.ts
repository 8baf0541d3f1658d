import dns from 'node:dns';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/*
 * What the SSRF tests of the field cases share (not a test file): "elsewhere", an HTTP server on
 * another port (another origin, as storage or a CDN is), programmable per path, that logs every
 * request; and a connection guard that patches net.connect / tls.connect / dns.lookup in the
 * calling file's worker process only. Names resolve only through `fakeDns` (anything else is
 * ENOTFOUND at once, no real DNS), and a connection to a non-loopback address is RECORDED in
 * `attempts` and rerouted to "elsewhere". No test sends a packet to 169.254.169.254 or off the
 * machine, and a test can tell "refused before connecting" from "connected".
 */

/** One request "elsewhere" received. */
export interface ElseRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}
/** A handler for one path of "elsewhere". */
export type Route = (req: IncomingMessage, res: ServerResponse) => void;

/** What a test file gets from {@link useConnectionGuard}. */
export interface ConnectionGuard {
  /** Requests "elsewhere" received since the current test began. */
  readonly log: ElseRequest[];
  /** Routes of "elsewhere" by path; cleared before each test. */
  readonly routes: Map<string, Route>;
  /** Hostname → address; cleared before each test. */
  readonly fakeDns: Map<string, string>;
  /** Connections that would have left loopback, in order; cleared before each test. */
  readonly attempts: Array<{ host: string; address: string }>;
  /** The port of "elsewhere". */
  port(): number;
  /** `127.0.0.1:<port>` of "elsewhere". */
  host(): string;
  /** `http://127.0.0.1:<port>` of "elsewhere". */
  url(): string;
}

/** Answers a redirect to `location`. */
export const redirectTo =
  (status: number, location: string): Route =>
  (_req, res) =>
    void res.writeHead(status, { location, 'content-length': 0 }).end();

/** Serves `bytes`, with `Range: bytes=N-` support, as storage does. */
export const serveBytes =
  (bytes: Buffer): Route =>
  (req, res) => {
    const range = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const from = Number(range[1]);
      res.writeHead(206, { 'content-length': bytes.length - from, 'content-range': `bytes ${from}-${bytes.length - 1}/${bytes.length}` });
      return void res.end(bytes.subarray(from));
    }
    res.writeHead(200, { 'content-length': bytes.length, 'content-type': 'application/octet-stream' }).end(bytes);
  };

type LookupCallback = (err: NodeJS.ErrnoException | null, address?: string | Array<{ address: string; family: number }>, family?: number) => void;

const isLoopback = (address: string) => /^127\./.test(address) || address === '::1' || address === '::ffff:127.0.0.1';

/** Starts "elsewhere" and the guard before the calling file's tests; undoes both after them. */
export function useConnectionGuard(): ConnectionGuard {
  const log: ElseRequest[] = [];
  const routes = new Map<string, Route>();
  const fakeDns = new Map<string, string>();
  const attempts: Array<{ host: string; address: string }> = [];
  const original = { connect: net.connect, tlsConnect: tls.connect, lookup: dns.lookup };
  let server: Server;
  let port = 0;

  const fakeLookup = (hostname: string, options: unknown, callback?: LookupCallback): void => {
    const cb = (typeof options === 'function' ? options : callback) as LookupCallback;
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    const address = net.isIP(hostname) ? hostname : hostname === 'localhost' ? '127.0.0.1' : fakeDns.get(hostname.toLowerCase());
    if (address === undefined) {
      process.nextTick(() => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname })));
      return;
    }
    const family = net.isIP(address);
    process.nextTick(() => (all ? cb(null, [{ address, family }]) : cb(null, address, family)));
  };

  // Connection options rerouted to "elsewhere" when they lead off loopback, with the attempt recorded.
  const guarded = (options: Record<string, unknown>): Record<string, unknown> => {
    const host = String(options.host ?? 'localhost').replace(/^\[|\]$/g, '');
    if (net.isIP(host)) {
      if (isLoopback(host)) return options;
      attempts.push({ host, address: host });
      return { ...options, host: '127.0.0.1', port, lookup: undefined };
    }
    const inner =
      (options.lookup as typeof fakeLookup | undefined) ?? ((h: string, o: unknown, c: LookupCallback) => dns.lookup(h, o as dns.LookupOptions, c as never));
    return {
      ...options,
      lookup: (hostname: string, lookupOptions: { all?: boolean }, cb: LookupCallback) =>
        inner(hostname, lookupOptions, (err, address, family) => {
          if (err) return cb(err);
          const list = Array.isArray(address) ? address : [{ address: address!, family: family! }];
          const away = list.find((entry) => !isLoopback(entry.address));
          if (!away) return cb(null, address, family);
          attempts.push({ host: hostname, address: away.address });
          // Only the address can change here, not the port: tests using names put elsewhere's port in the URL.
          return lookupOptions?.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
        }),
    };
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      log.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
      const route = routes.get(new URL(req.url ?? '/', 'http://x').pathname);
      if (route) return route(req, res);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    (dns as { lookup: unknown }).lookup = fakeLookup;
    (net as { connect: unknown }).connect = (...args: unknown[]) =>
      typeof args[0] === 'object' && args[0] !== null
        ? original.connect(guarded(args[0] as Record<string, unknown>) as unknown as net.NetConnectOpts, ...(args.slice(1) as []))
        : (original.connect as (...a: unknown[]) => net.Socket)(...args);
    (tls as { connect: unknown }).connect = (...args: unknown[]) =>
      typeof args[0] === 'object' && args[0] !== null
        ? original.tlsConnect(guarded(args[0] as Record<string, unknown>) as unknown as tls.ConnectionOptions, ...(args.slice(1) as []))
        : (original.tlsConnect as (...a: unknown[]) => tls.TLSSocket)(...args);
  });
  afterAll(async () => {
    (dns as { lookup: unknown }).lookup = original.lookup;
    (net as { connect: unknown }).connect = original.connect;
    (tls as { connect: unknown }).connect = original.tlsConnect;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    log.length = 0;
    routes.clear();
    fakeDns.clear();
    attempts.length = 0;
  });

  return {
    log,
    routes,
    fakeDns,
    attempts,
    port: () => port,
    host: () => `127.0.0.1:${port}`,
    url: () => `http://127.0.0.1:${port}`,
  };
}
