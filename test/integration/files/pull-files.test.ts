import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileRecord } from '../../../shared/pull-record.ts';
import { startFaultProxy } from '../../support/fault-proxy.ts';
import { createStandInClient } from '../../support/standin-client.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { fetchBytes, startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pushCraftedImage } from './push-crafted-layer.ts';

const { standIn, fixtures } = useStandIn();
const registryLog = createStandInClient(standIn.url);
const adminEnv = { HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Every listed file's URL must serve bytes of its size that hash to its digest: what curl would get. */
async function expectFilesServed(files: FileRecord[]): Promise<void> {
  for (const file of files) {
    expect(file.url).toMatch(/\/objects\/files\/sha256\/[0-9a-f]{64}\?/);
    const download = await fetchBytes(file.url!);
    expect(download.status).toBe(200);
    expect(download.bytes.length).toBe(file.size);
    expect(sha256(download.bytes)).toBe(file.digest);
  }
}

describe('files of single-layer artifacts', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay(adminEnv);
  });
  afterAll(() => relay.stop());

  it('the busybox pull lists bin/busybox, and its URL serves the binary', async () => {
    const record = await relay.waitForPull((await relay.postPull({ image: fixtures.busybox.ref, platform: 'linux/amd64' })).body.id);
    expect(record.state).toBe('done');
    expect(record.filesError).toBeUndefined();
    expect(record.files?.map(({ path, mode }) => ({ path, mode }))).toEqual([{ path: 'bin/busybox', mode: 0o755 }]);
    await expectFilesServed(record.files!);
    const binary = await fetchBytes(record.files![0]!.url!);
    expect(binary.bytes.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46])); // ELF
  });

  it('lists regular files and in-layer hard links (with their target\'s digest), never links, dirs, devices or whiteouts', async () => {
    const { ref } = await pushCraftedImage(standIn, 'files-mixed', [[
      { name: './', type: 'directory' },
      { name: './bin/', type: 'directory' },
      { name: './bin/app', body: 'the app\n', mode: 0o4755 },
      { name: './bin/app-hard', type: 'link', linkname: 'bin/app' },
      { name: './bin/app-soft', type: 'symlink', linkname: 'app' },
      { name: './etc/app.conf', body: 'port=1\n' },
      { name: './etc/.wh.old.conf', body: '' },
      { name: './dev/null', type: 'character-device' },
    ]]);
    const record = await relay.waitForPull((await relay.postPull({ image: ref })).body.id);
    expect(record.state).toBe('done');
    const files = record.files!;
    expect(files.map((f) => [f.path, f.size, f.mode])).toEqual([
      ['bin/app', 8, 0o755],
      ['bin/app-hard', 8, 0o755],
      ['etc/app.conf', 7, 0o644],
    ]);
    expect(files[0]!.digest).toBe(sha256(Buffer.from('the app\n')));
    expect(files[1]!.digest).toBe(files[0]!.digest);
    await expectFilesServed(files);
  });

  it('a multi-layer image gets no files listing', async () => {
    const record = await relay.waitForPull((await relay.postPull({ image: fixtures['two-layer'].ref })).body.id);
    expect(record.state).toBe('done');
    expect(record.files).toBeUndefined();
    expect(record.filesError).toBeUndefined();
  });

  it('an unsafe single layer is still relayed, with filesError instead of files, and nothing under files/', async () => {
    const relayOwn = await startTestRelay(adminEnv);
    try {
      const { ref } = await pushCraftedImage(standIn, 'files-unsafe', [[{ name: 'ok.txt', body: 'fine' }, { name: '../../escape', body: 'pwned' }]]);
      const record = await relayOwn.waitForPull((await relayOwn.postPull({ image: ref })).body.id);
      expect(record.state).toBe('done');
      expect(record.files).toBeUndefined();
      expect(record.filesError).toMatchObject({ code: 'UNSAFE_ENTRY' });
      expect(existsSync(join(relayOwn.dataDir, 'files'))).toBe(false);
    } finally {
      await relayOwn.stop();
    }
  });

  it('the same layer under another tag (already stored) is listed again without a second registry download', async () => {
    const { refs, image, repository } = await pushCraftedImage(standIn, 'files-twice', [[{ name: 'tool', body: 'tool v1\n', mode: 0o755 }]], ['v1', 'latest']);
    const mark = await registryLog.mark();
    const first = await relay.waitForPull((await relay.postPull({ image: refs[0] })).body.id);
    const second = await relay.waitForPull((await relay.postPull({ image: refs[1] })).body.id);
    expect(second.files).toEqual(first.files?.map((f) => ({ ...f, url: expect.any(String), expiresAt: expect.any(String) })));
    expect(second.files?.map((f) => f.path)).toEqual(['tool']);
    await expectFilesServed(second.files!);
    expect(await registryLog.blobGets(image.layers[0]!.digest, { since: mark, repository })).toBe(1);
  });

  it('stores nothing under files/ when the layer\'s digest does not verify', async () => {
    const { ref, repository } = await pushCraftedImage(standIn, 'files-corrupt', [[{ name: 'tool', body: 'x'.repeat(4096) }]]);
    const proxy = await startFaultProxy({ target: standIn.url });
    proxy.addRule({ match: { method: 'GET', path: new RegExp(`^/v2/${repository}/blobs/`) }, action: { type: 'flipByte' } });
    const corrupt = await startTestRelay({ ...adminEnv, HARBOR_URL: proxy.url, RELAY_MAX_ATTEMPTS: '1' });
    try {
      const image = ref.replace(standIn.host, proxy.host);
      const record = await corrupt.waitForPull((await corrupt.postPull({ image })).body.id);
      expect(record).toMatchObject({ state: 'failed', error: { code: 'DIGEST_MISMATCH' } });
      expect(record.files).toBeUndefined();
      expect(existsSync(join(corrupt.dataDir, 'files')) ? readdirSync(join(corrupt.dataDir, 'files'), { recursive: true }) : []).toEqual([]);
    } finally {
      await corrupt.stop();
      await proxy.stop();
    }
  });
});
