import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { parseDigest } from '../digest.ts';
import { RelayError } from '../errors.ts';
import type { ObjectKind } from '../object-key.ts';
import { parseByteRange } from './byte-range.ts';
import type { FileBlobStore } from './file-blob-store.ts';

const OBJECT_KINDS: readonly ObjectKind[] = ['blobs', 'manifests', 'files'];

/**
 * The local stand-in for S3 presigned GETs: `GET|HEAD /objects/:kind/:alg/:hex?expires&sig`.
 * Objects are streamed from disk, never buffered, with single-range support so `curl -C -` and
 * resuming downloaders work. Mount it on the local server with `app.route('/', ...)`: faults are
 * thrown as RelayErrors (SIGNATURE_INVALID, URL_EXPIRED → 403, NOT_FOUND, INVALID_DIGEST) for the
 * host app's one error translation (installErrorHandling), which owns request ids and logging.
 */
export function createSignedObjectApp(store: FileBlobStore): Hono {
  const app = new Hono();

  // Hono routes HEAD to GET handlers and drops the body; we check the method to avoid opening a file.
  app.get('/objects/:kind/:alg/:hex', async (c) => {
    const kind = c.req.param('kind') as ObjectKind;
    if (!OBJECT_KINDS.includes(kind)) throw new RelayError('NOT_FOUND', 'no such object');
    const digest = parseDigest(`${c.req.param('alg')}:${c.req.param('hex')}`);
    const expires = c.req.query('expires');
    store.verifySignature(kind, digest, expires, c.req.query('sig'));

    const object = await store.stat(kind, digest);
    if (!object) throw new RelayError('NOT_FOUND', `${kind} object ${digest} is not stored`);

    const remaining = Math.max(0, Number(expires) - Math.floor(store.now() / 1000));
    const headers: Record<string, string> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      ETag: `"${digest}"`,
      // private: the URL is a bearer credential, shared caches must not keep what it unlocked.
      'Cache-Control': `private, max-age=${remaining}`,
    };
    // RFC 9110 §14.2: range handling is defined for GET only; HEAD describes the whole object.
    const request = c.req.method === 'GET' ? parseByteRange(c.req.header('Range'), object.size) : { kind: 'whole' as const };

    if (request.kind === 'unsatisfiable') {
      // Answered here, not thrown: the 416 must carry Content-Range (RFC 9110 §15.5.17).
      const requestId = (c.get('requestId') as string | undefined) ?? 'unknown';
      const message = `range not satisfiable: the object is ${object.size} bytes`;
      return c.json({ error: { code: 'RANGE_NOT_SATISFIABLE', message, requestId } }, 416, {
        'Content-Range': `bytes */${object.size}`,
      });
    }
    const range = request.kind === 'partial' ? request.range : undefined;
    const length = range ? range.end - range.start + 1 : object.size;
    headers['Content-Length'] = String(length);
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${object.size}`;
    const status = range ? 206 : 200;
    if (c.req.method === 'HEAD') return c.body(null, status, headers);
    const body = Readable.toWeb(store.openRead(kind, digest, range)) as ReadableStream<Uint8Array>;
    return c.body(body, status, headers);
  });

  return app;
}
