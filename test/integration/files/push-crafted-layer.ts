import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildImage, type BuiltImage } from '../../../infra/local/fixtures/image-builder.ts';
import { MEDIA_TYPES } from '../../../infra/local/fixtures/media-types.ts';
import { createRegistryPusher } from '../../../infra/local/fixtures/registry-pusher.ts';
import { craftTar, type CraftedEntry } from '../../support/crafted-tar.ts';
import type { StandInInfo } from '../../support/standin-context.ts';

export { craftTar, type CraftedEntry } from '../../support/crafted-tar.ts';

/**
 * Pushes an image of one gzip layer per entry list to a fresh repository (so counts of registry
 * requests are not disturbed by other test files) and returns its reference.
 */
export async function pushCraftedImage(standIn: StandInInfo, name: string, layers: ReadonlyArray<readonly CraftedEntry[]>, tags: readonly string[] = ['v1']): Promise<{ ref: string; repository: string; image: BuiltImage; refs: string[] }> {
  const repository = `team/${name}-${randomBytes(6).toString('hex')}`;
  const image = buildImage({
    format: 'oci',
    platform: { os: 'linux', architecture: 'amd64' },
    layers: await Promise.all(layers.map(async (entries) => ({ bytes: gzipSync(await craftTar(entries)), mediaType: MEDIA_TYPES.ociLayerGzip }))),
  });
  const pusher = createRegistryPusher({ url: standIn.url, ...standIn.users.admin });
  for (const tag of tags) await pusher.pushImage(repository, image, tag);
  const refs = tags.map((tag) => `${standIn.host}/${repository}:${tag}`);
  return { ref: refs[0]!, repository, image, refs };
}
