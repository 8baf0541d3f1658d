import { Hono } from 'hono';
import type { BlobStore } from '../../shared/blob-store.ts';
import { parseDigest } from '../../shared/digest.ts';
import { RelayError } from '../../shared/errors.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import type { Logger } from '../../shared/log.ts';
import { presentPull } from '../../shared/present-pull.ts';
import type { RecordStore } from '../../shared/record-store.ts';

/** What the status function needs; wired by handler.ts (Lambda) or the local server. */
export interface StatusDeps {
  records: RecordStore;
  store: BlobStore;
  urlTtlSeconds: number;
  log: Logger;
}

/** The status function: pull records, and signed URLs keyed by digest. */
export function createStatusApp(deps: StatusDeps): Hono {
  const app = new Hono();
  installErrorHandling(app, deps.log);

  app.get('/v1/pulls/:id', async (c) => {
    const id = c.req.param('id');
    const record = id.length <= 64 ? await deps.records.get(id) : undefined;
    if (!record) throw new RelayError('NOT_FOUND', `no pull with id "${id.slice(0, 64)}"`);
    return c.json(await presentPull(record, deps.store, deps.urlTtlSeconds));
  });

  app.get('/v1/blobs/:digest', async (c) => {
    const digest = parseDigest(c.req.param('digest'));
    const stored = await deps.store.stat('blobs', digest);
    if (!stored) throw new RelayError('NOT_FOUND', `blob ${digest} is not stored here; request a pull of an image that contains it`);
    const signed = await deps.store.signUrl('blobs', digest, deps.urlTtlSeconds);
    // `?redirect=1` lets plain `curl -L` download: the answer is the signed URL itself.
    if (c.req.query('redirect') === '1') return c.redirect(signed.url, 307);
    const meta = await deps.records.getBlob(digest);
    return c.json({
      digest,
      size: stored.size,
      ...(meta?.mediaType === undefined ? {} : { mediaType: meta.mediaType }),
      url: signed.url,
      expiresAt: signed.expiresAt.toISOString(),
    });
  });

  return app;
}
