import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useStandIn } from '../../support/standin-context.ts';
import { fetchBytes, startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pushCraftedImage } from './push-crafted-layer.ts';

/*
 * A repeat pull of a stored single-layer artifact answers its files from the layer's blob record:
 * reading a multi-GiB layer back from the store to list files it already listed took seconds
 * (issue 7: a repeat pull is done in < 100 ms). The listing is a function of the layer's bytes,
 * so it holds for every tag and every pull of that digest.
 */

const { standIn } = useStandIn();
const adminEnv = { HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

let relay: TestRelay;
beforeAll(async () => {
  relay = await startTestRelay(adminEnv);
});
afterAll(() => relay.stop());

const pull = async (image: string) => relay.waitForPull((await relay.postPull({ image })).body.id);
/**
 * Log lines of the files step for one layer, written only when the layer's files were read: "layer
 * files stored", or the warning that carries the content verdict's code (its `message` field is the error's).
 */
const filesStepRuns = (digest: string) =>
  relay.logs.filter((line) => line.includes(digest) && /"message":"layer files stored"|"code":"(UNSAFE_ENTRY|LAYER_INVALID|LIMIT_EXCEEDED)"/.test(line)).length;

describe('repeat pulls of a single-layer artifact', () => {
  it('list the same files without reading the layer again, by the same tag and by another', async () => {
    const { refs, image } = await pushCraftedImage(standIn, 'files-repeat', [[{ name: 'bin/tool', body: 'tool v2\n', mode: 0o755 }]], ['v1', 'stable']);
    const digest = image.layers[0]!.digest;
    const first = await pull(refs[0]!);
    const again = await pull(refs[0]!);
    const otherTag = await pull(refs[1]!);
    expect([first.state, again.state, otherTag.state]).toEqual(['done', 'done', 'done']);
    const listing = (record: typeof first) => record.files?.map(({ path, size, digest: fileDigest, mode }) => ({ path, size, digest: fileDigest, mode }));
    expect(listing(first)).toEqual([{ path: 'bin/tool', size: 8, digest: sha256(Buffer.from('tool v2\n')), mode: 0o755 }]);
    expect(listing(again)).toEqual(listing(first));
    expect(listing(otherTag)).toEqual(listing(first));
    expect(filesStepRuns(digest)).toBe(1);
    const download = await fetchBytes(again.files![0]!.url!);
    expect(sha256(download.bytes)).toBe(again.files![0]!.digest);
  });

  it('keep an unsafe layer\'s filesError without reading the layer again', async () => {
    const { ref, image } = await pushCraftedImage(standIn, 'files-repeat-unsafe', [[{ name: '../../escape', body: 'x' }]]);
    const first = await pull(ref);
    const again = await pull(ref);
    expect(first.filesError).toMatchObject({ code: 'UNSAFE_ENTRY' });
    expect(again.filesError).toEqual(first.filesError);
    expect(again.files).toBeUndefined();
    expect(filesStepRuns(image.layers[0]!.digest)).toBe(1);
  });
});
