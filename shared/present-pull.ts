import type { BlobStore } from './blob-store.ts';
import { parseDigest } from './digest.ts';
import type { PullRecord } from './pull-record.ts';

/**
 * A pull record as callers see it: a finished pull's layers (and files) carry fresh signed URLs, made at read
 * time so a stored record never holds a URL (they expire, and they are secrets while they live).
 */
export async function presentPull(record: PullRecord, store: BlobStore, ttlSeconds: number): Promise<PullRecord> {
  if (record.state !== 'done') return record;
  const layers = await Promise.all(
    record.layers.map(async (layer) => {
      const signed = await store.signUrl('blobs', parseDigest(layer.digest), ttlSeconds);
      return { ...layer, url: signed.url, expiresAt: signed.expiresAt.toISOString() };
    }),
  );
  if (record.files === undefined) return { ...record, layers };
  const files = await Promise.all(
    record.files.map(async (file) => {
      const signed = await store.signUrl('files', parseDigest(file.digest), ttlSeconds);
      return { ...file, url: signed.url, expiresAt: signed.expiresAt.toISOString() };
    }),
  );
  return { ...record, layers, files };
}
