import { createServer, request as httpRequest } from 'node:http';

/** One response as the upstream server sent it through the proxy. */
export interface CountedResponse {
  method: string;
  path: string;
  /** The request's Range header, if any. */
  range?: string;
  status: number;
  /** Body bytes the upstream server sent for this request. */
  bytes: number;
}

/**
 * A plain forwarding proxy that counts, per request, the body bytes its upstream sent: placed
 * right in front of the relay, it shows what the relay's storage served (the fault proxy in front
 * of it cuts connections; this one only watches).
 */
export async function startByteCountingProxy(target: string): Promise<{ url: string; responses: CountedResponse[]; stop(): Promise<void> }> {
  const upstreamUrl = new URL(target);
  const responses: CountedResponse[] = [];
  const server = createServer((req, res) => {
    const upstream = httpRequest({ hostname: upstreamUrl.hostname, port: upstreamUrl.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      const counted: CountedResponse = { method: req.method ?? 'GET', path: new URL(req.url ?? '/', 'http://x').pathname, status: answer.statusCode ?? 0, bytes: 0, ...(req.headers.range ? { range: req.headers.range } : {}) };
      responses.push(counted);
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.on('data', (chunk: Buffer) => {
        counted.bytes += chunk.length;
        if (!res.write(chunk)) answer.pause();
      });
      res.on('drain', () => answer.resume());
      answer.on('end', () => res.end());
      res.on('close', () => answer.destroy());
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    responses,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
