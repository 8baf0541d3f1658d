import { randomBytes } from 'node:crypto';
import { buildImage, type BuiltImage } from '../../infra/local/fixtures/image-builder.ts';
import { buildLayer } from '../../infra/local/fixtures/layer-tar.ts';
import { createRegistryPusher } from '../../infra/local/fixtures/registry-pusher.ts';
import type { StandInInfo } from './standin-context.ts';

/**
 * Pushes a two-layer image with random contents to a fresh repository, so a test that counts the
 * registry's blob GETs is not disturbed by other test files pulling shared fixtures in parallel.
 */
export async function pushUniqueImage(standIn: StandInInfo, name: string): Promise<{ ref: string; repository: string; image: BuiltImage }> {
  const nonce = randomBytes(6).toString('hex');
  const repository = `team/${name}-${nonce}`;
  const image = buildImage({
    format: 'oci',
    platform: { os: 'linux', architecture: 'amd64' },
    layers: [
      await buildLayer([{ path: 'a.txt', content: `first ${nonce}\n` }], 'gzip'),
      await buildLayer([{ path: 'b.bin', content: randomBytes(256 * 1024) }], 'gzip'),
    ],
  });
  await createRegistryPusher({ url: standIn.url, ...standIn.users.admin }).pushImage(repository, image, 'v1');
  return { ref: `${standIn.host}/${repository}:v1`, repository, image };
}
