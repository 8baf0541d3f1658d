import { randomBytes } from 'node:crypto';
import type { BenchContext } from './bench-context.ts';
import { pushBenchImage, type BenchImage } from './bench-image.ts';
import { uploadBlobStream } from './blob-upload.ts';
import { streamPayloadLayer } from './payload-layer.ts';

/** Large enough that 50 requests land while the copy is still running, small enough to push in seconds. */
export const FRESH_LAYER_MAX_BYTES = 256 * 1024 ** 2;

/**
 * Pushes an image whose layer no relay has seen (random bytes from a new seed, streamed straight
 * into the registry) under `tags` of a new repository in project `team`; returns it and its refs.
 */
export async function pushFreshImage(ctx: BenchContext, name: string, tags: string[]): Promise<{ image: BenchImage; refs: string[] }> {
  const nonce = randomBytes(6).toString('hex');
  const repository = `team/bench-${name}-${nonce}`;
  const fileSize = Math.min(ctx.options.sizeBytes, FRESH_LAYER_MAX_BYTES);
  const generated = streamPayloadLayer(fileSize, `fresh-${nonce}`);
  const uploaded = await uploadBlobStream(ctx.admin, repository, generated.stream);
  const image = await pushBenchImage(ctx.admin, repository, { ...uploaded, diffId: await generated.diffId }, tags);
  return { image, refs: tags.map((tag) => `${ctx.standIn.host}/${repository}:${tag}`) };
}
