import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  | { type: 'redirect'; location: string; status?: number };

/** What a handler gets: the client's request and response, and a way to forward upstream. */
export interface FaultContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Sends the request upstream (its body streamed), with header changes; resolves with the answer. */
  forward(headers?: (headers: OutgoingHttpHeaders) => OutgoingHttpHeaders): Promise<IncomingMessage>;
}

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
