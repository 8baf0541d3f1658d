import { Hono } from 'hono';
import { forbidden, requirePullOfAny, type AccessControl } from '../../shared/auth/access-control.ts';
import { callerOf, requireCaller } from '../../shared/auth/require-caller.ts';
import { createUnwiredAccess } from '../../shared/auth/unwired-access.ts';
import type { BlobStore } from '../../shared/blob-store.ts';
import { parseDigest } from '../../shared/digest.ts';
import { RelayError } from '../../shared/errors.ts';
import { installErrorHandling } from '../../shared/http-errors.ts';
import { parseImageRef } from '../../shared/image-ref.ts';
import type { Logger } from '../../shared/log.ts';
import { presentPull } from '../../shared/present-pull.ts';
import type { RecordStore } from '../../shared/record-store.ts';

/** What the status function needs; wired by handler.ts (Lambda) or the local server. */
export interface StatusDeps {
  records: RecordStore;
  store: BlobStore;
  urlTtlSeconds: number;
  log: Logger;
  /** Who may do what (shared/auth/create-access-control.ts). Without it every route fails closed. */
  access?: AccessControl;
  /** `host[:port]` of the configured Harbor: repositories recorded under another registry grant nothing. */
  allowedRegistry?: string;
}

/** The status function: pull records, and signed URLs keyed by digest — each only for callers who may pull the repository. */
export function createStatusApp(deps: StatusDeps): Hono {
  const app = new Hono();
  installErrorHandling(app, deps.log);
  const access = deps.access ?? createUnwiredAccess();

  app.get('/v1/pulls/:id', requireCaller(access), async (c) => {
    const id = c.req.param('id');
    const record = id.length <= 64 ? await deps.records.get(id) : undefined;
    if (!record) throw new RelayError('NOT_FOUND', `no pull with id "${id.slice(0, 64)}"`);
    // A done record carries signed URLs: only someone who may pull its repository sees it.
    const ref = parseImageRef(record.image);
    if (deps.allowedRegistry !== undefined && ref.registry !== deps.allowedRegistry) throw forbidden(callerOf(c), ref.repository);
    await access.requirePull(callerOf(c), ref.repository);
    return c.json(await presentPull(record, deps.store, deps.urlTtlSeconds));
  });

  app.get('/v1/blobs/:digest', requireCaller(access), async (c) => {
    const digest = parseDigest(c.req.param('digest'));
    const meta = await deps.records.getBlob(digest);
    // By digest, a blob is reachable only through a repository it was copied from that the caller may pull.
    if (access.mode !== 'none') {
      if (!meta) throw notStored(digest);
      await requirePullOfAny(access, callerOf(c), meta.repositories, `blob ${digest}`, deps.allowedRegistry);
    }
    const stored = await deps.store.stat('blobs', digest);
    if (!stored) throw notStored(digest);
    const signed = await deps.store.signUrl('blobs', digest, deps.urlTtlSeconds);
    // `?redirect=1` lets plain `curl -L` download: the answer is the signed URL itself.
    if (c.req.query('redirect') === '1') return c.redirect(signed.url, 307);
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

function notStored(digest: string): RelayError {
  return new RelayError('NOT_FOUND', `blob ${digest} is not stored here; request a pull of an image that contains it`);
}
