import { splitDigest, type Digest } from './digest.ts';

/** The three families of stored objects (design.md §4). */
export type ObjectKind = 'blobs' | 'manifests' | 'files';

/** `blobs/<alg>/<hex>`: content-addressed, so the key is also the integrity claim. */
export function objectKey(kind: ObjectKind, digest: Digest): string {
  const { algorithm, hex } = splitDigest(digest);
  return `${kind}/${algorithm}/${hex}`;
}
