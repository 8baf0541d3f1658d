import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { createGzip } from 'node:zlib';

/** A fault the proxy injects. Add a kind by adding a member here and a handler in FAULT_HANDLERS. */
export type FaultAction =
  /** Answer without forwarding (429/503 with `retry-after`, 404 with an HTML body...). */
  | { type: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, but flip one byte of the body (XOR 0xff) at `offset`, default the middle; length unchanged. */
  | { type: 'flipByte'; offset?: number }
  /** Forward headers and `afterBytes` body bytes, then close the connection short of Content-Length. */
  | { type: 'reset'; afterBytes: number }
  /** Forward only the first `bytes` body bytes and end cleanly, chunked (no Content-Length to notice). */
  | { type: 'truncate'; bytes: number }
  /** Forward the body chunked, without Content-Length (field case F3). */
  | { type: 'dropContentLength' }
  /** gzip the body and say so in Content-Encoding, as a transparently re-encoding proxy would (F4). */
  | { type: 'gzipEncoding' }
  /** Drop the request's Range header: the server answers 200 with the whole body (F2). */
  | { type: 'ignoreRange' }
  /** Forward, but remove these response headers (e.g. Docker-Content-Digest, B2). */
  | { type: 'stripHeaders'; names: string[] }
  /** Answer a redirect to `location` + the request's path and query, without forwarding (A1, A3). */
  | { type: 'redirect'; location: string; status?: number }
  /**
   * Answer a redirect to the proxy's "storage" host with a URL signed for `ttlMs` (default 60 s), as
   * Harbor on S3 does (A1). Storage rejects any Authorization header (400, as S3 does for a second
   * auth mechanism), refuses expired signatures (403), and serves the blob, Range included.
   */
  | { type: 'storageRedirect'; ttlMs?: number; status?: number }
  /** Forward the body slowly (`bytesPerSecond`), optionally cutting the connection after `resetAfterBytes` (G1). */
  | { type: 'throttle'; bytesPerSecond: number; resetAfterBytes?: number }
  /** Forward a ranged request, but answer a Content-Range whose numbers are shifted by `shift` (default 1) (F1). */
  | { type: 'wrongContentRange'; shift?: number }
  /** Answer `status` (default 503) with Retry-After `afterMs` from now, as delta-seconds or an HTTP-date computed per request (G3). */
  | { type: 'retryAfter'; afterMs: number; form: 'seconds' | 'date'; status?: number }
  /** Forward, but set (or, with null, remove) response headers: a generic Content-Type, a missing digest (B2, B3). */
  | { type: 'setHeaders'; headers: Record<string, string | null> };

/** What a handler gets: the client's request and response, and a way to forward upstream. */
export interface FaultContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Sends the request upstream (its body streamed), with header changes; resolves with the answer. */
  forward(headers?: (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders): Promise<IncomingMessage>;
  /** A URL on the storage host, signed for `ttlMs`, that serves `path` (registry path and query) from upstream. */
  signStorageUrl(path: string, ttlMs: number): string;
}

/** Storage URLs are valid this long unless the rule says otherwise: S3 presigned URLs from Harbor last minutes. */
const DEFAULT_STORAGE_TTL_MS = 60_000;
/** Throttled bodies are written in pieces this big, so the pace is smooth and a reset lands mid-body. */
const THROTTLE_PIECE_BYTES = 16 * 1024;

type Handler<A> = (ctx: FaultContext, action: A) => Promise<void>;
type Handlers = { [K in FaultAction['type']]: Handler<Extract<FaultAction, { type: K }>> };

/** One handler per fault kind. */
export const FAULT_HANDLERS: Handlers = {
  async status({ res }, action) {
    const body = action.body ?? '';
    res.writeHead(action.status, { 'content-length': Buffer.byteLength(body), ...action.headers });
    res.end(body);
  },
  async flipByte(ctx, action) {
    const upstream = await ctx.forward();
    const length = Number(upstream.headers['content-length'] ?? NaN);
    const offset = action.offset ?? (Number.isFinite(length) ? Math.floor(length / 2) : 0);
    ctx.res.writeHead(upstream.statusCode ?? 502, upstream.headers);
    await relay(upstream, ctx.res, flipByteAt(offset));
  },
  async reset(ctx, action) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, upstream.headers);
    let sent = 0;
    const cut = () => {
      upstream.destroy();
      // end() flushes what was written, then FIN: the client sees the body stop short of Content-Length.
      ctx.res.socket?.end();
    };
    if (action.afterBytes <= 0) {
      ctx.res.flushHeaders();
      cut();
      return;
    }
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, action.afterBytes - sent);
      sent += part.length;
      ctx.res.write(part);
      if (sent >= action.afterBytes) break;
    }
    cut();
  },
  async truncate(ctx, action) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, withoutHeaders(upstream.headers, ['content-length']));
    let sent = 0;
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      const part = chunk.subarray(0, action.bytes - sent);
      sent += part.length;
      if (part.length > 0) ctx.res.write(part);
      if (sent >= action.bytes) break;
    }
    upstream.destroy();
    ctx.res.end();
  },
  async dropContentLength(ctx) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, withoutHeaders(upstream.headers, ['content-length']));
    await relay(upstream, ctx.res);
  },
  async gzipEncoding(ctx) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, { ...withoutHeaders(upstream.headers, ['content-length']), 'content-encoding': 'gzip' });
    await relay(upstream, ctx.res, createGzip());
  },
  async ignoreRange(ctx) {
    const upstream = await ctx.forward((headers) => withoutHeaders(headers, ['range', 'if-range']));
    ctx.res.writeHead(upstream.statusCode ?? 502, upstream.headers);
    await relay(upstream, ctx.res);
  },
  async stripHeaders(ctx, action) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, withoutHeaders(upstream.headers, action.names));
    await relay(upstream, ctx.res);
  },
  async redirect({ req, res }, action) {
    const location = `${action.location.replace(/\/$/, '')}${req.url ?? '/'}`;
    res.writeHead(action.status ?? 307, { location, 'content-length': 0 });
    res.end();
  },
  async storageRedirect(ctx, action) {
    const location = ctx.signStorageUrl(ctx.req.url ?? '/', action.ttlMs ?? DEFAULT_STORAGE_TTL_MS);
    ctx.res.writeHead(action.status ?? 307, { location, 'content-length': 0 });
    ctx.res.end();
  },
  async throttle(ctx, action) {
    const upstream = await ctx.forward();
    ctx.res.writeHead(upstream.statusCode ?? 502, upstream.headers);
    const limit = action.resetAfterBytes ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    for await (const chunk of upstream as AsyncIterable<Buffer>) {
      for (let at = 0; at < chunk.length && sent < limit; ) {
        if (ctx.res.destroyed) return void upstream.destroy();
        const piece = chunk.subarray(at, at + Math.min(THROTTLE_PIECE_BYTES, limit - sent));
        at += piece.length;
        sent += piece.length;
        if (!ctx.res.write(piece)) await new Promise((resolve) => ctx.res.once('drain', resolve));
        await delay((piece.length / action.bytesPerSecond) * 1000);
      }
      if (sent >= limit) break;
    }
    if (sent >= limit) {
      upstream.destroy();
      ctx.res.socket?.end();
      return;
    }
    ctx.res.end();
  },
  async wrongContentRange(ctx, action) {
    const upstream = await ctx.forward();
    const shift = action.shift ?? 1;
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(upstream.headers['content-range'] ?? ''));
    const headers = { ...upstream.headers };
    if (range) headers['content-range'] = `bytes ${Number(range[1]) + shift}-${Number(range[2]) + shift}/${range[3]}`;
    ctx.res.writeHead(upstream.statusCode ?? 502, headers);
    await relay(upstream, ctx.res);
  },
  async retryAfter({ res }, action) {
    const value = action.form === 'seconds' ? String(Math.ceil(action.afterMs / 1000)) : new Date(Date.now() + action.afterMs).toUTCString();
    const status = action.status ?? 503;
    const body = status === 429 ? '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' : '{"errors":[{"code":"UNAVAILABLE","message":"service unavailable"}]}';
    res.writeHead(status, { 'retry-after': value, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  },
  async setHeaders(ctx, action) {
    const upstream = await ctx.forward();
    const headers: OutgoingHttpHeaders = withoutHeaders(upstream.headers, Object.keys(action.headers));
    for (const [name, value] of Object.entries(action.headers)) if (value !== null) headers[name.toLowerCase()] = value;
    ctx.res.writeHead(upstream.statusCode ?? 502, headers);
    await relay(upstream, ctx.res);
  },
};

/** Forwards a response unchanged (the default path of the proxy). */
export async function forwardUnchanged(ctx: FaultContext): Promise<void> {
  const upstream = await ctx.forward();
  ctx.res.writeHead(upstream.statusCode ?? 502, upstream.headers);
  await relay(upstream, ctx.res);
}

async function relay(upstream: IncomingMessage, res: ServerResponse, ...transforms: Transform[]): Promise<void> {
  await pipeline([upstream, ...transforms, res]);
}

function withoutHeaders<T extends Record<string, unknown>>(headers: T, names: string[]): T {
  const drop = new Set(names.map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop.has(name.toLowerCase()))) as T;
}

/** XORs the byte at `offset` with 0xff, wherever chunk boundaries fall. */
function flipByteAt(offset: number): Transform {
  let position = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (offset >= position && offset < position + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[offset - position] = copy[offset - position]! ^ 0xff;
        chunk = copy;
      }
      position += chunk.length;
      callback(null, chunk);
    },
  });
}
