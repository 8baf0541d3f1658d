import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running conditional-write proxy in front of fauxqs. */
export interface ConditionalProxy {
  /** `http://127.0.0.1:PORT`: the S3 endpoint tests give the SDK. */
  url: string;
  /** PutObject requests refused with 412 so far (tests assert that the conflict path really ran). */
  readonly preconditionFailures: number;
  stop(): Promise<void>;
}

const PRECONDITION_FAILED = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition></Error>';

/**
 * fauxqs 2.4 ignores `If-None-Match` and `If-Match` on PutObject (design.md §7; checked: a second
 * PUT with If-None-Match: * and a PUT with a wrong If-Match both succeed), so it cannot show the
 * record store's conflict handling. This proxy adds exactly S3's conditional-write semantics in
 * front of it: for a PutObject carrying either header it takes a per-key lock, HEADs the key,
 * answers 412 PreconditionFailed as S3 does when the condition fails, and otherwise forwards the PUT
 * while still holding the lock (so check-and-write is atomic, as in S3). Everything else passes through.
 */
export async function startConditionalProxy(upstream: string): Promise<ConditionalProxy> {
  const target = new URL(upstream);
  const locks = new Map<string, Promise<void>>();
  let preconditionFailures = 0;

  const forward = (req: IncomingMessage, res: ServerResponse) =>
    new Promise<void>((resolve) => {
      const headers = { ...req.headers, host: target.host };
      delete headers.expect; // the proxy already answered 100-continue
      const upstreamRequest = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(res);
        upstreamResponse.on('end', resolve);
        upstreamResponse.on('error', () => resolve());
      });
      upstreamRequest.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
        resolve();
      });
      req.pipe(upstreamRequest);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', target);
    const ifMatch = req.headers['if-match'];
    const ifNoneMatch = req.headers['if-none-match'];
    const conditionalPut = req.method === 'PUT' && !url.searchParams.has('uploadId') && (ifMatch !== undefined || ifNoneMatch !== undefined);
    if (!conditionalPut) return forward(req, res);
    const key = url.pathname;
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    locks.set(key, chained);
    await previous;
    try {
      const head = await fetch(new URL(key, target), { method: 'HEAD' });
      const etag = head.ok ? head.headers.get('etag') : null;
      const failed = (ifNoneMatch === '*' && etag !== null) || (ifMatch !== undefined && ifMatch !== etag);
      if (failed) {
        preconditionFailures += 1;
        req.resume();
        res.writeHead(412, { 'content-type': 'application/xml' });
        res.end(PRECONDITION_FAILED);
        return;
      }
      await forward(req, res);
    } finally {
      release();
      if (locks.get(key) === chained) locks.delete(key);
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get preconditionFailures() {
      return preconditionFailures;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
