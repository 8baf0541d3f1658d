import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { extractLayer, safeEntryPath } from '../../../shared/layer/extract-layer.ts';

type Entry = Partial<Header> & { name: string; body?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const p = pack();
  for (const { body, ...header } of entries) p.entry(header, body ?? '');
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const freshDir = () => mkdtempSync(join(tmpdir(), 'extract-'));

describe('extractLayer', () => {
  it('writes files and directories, normalising ./ names (J5), for gzip, zstd and plain tar (D1)', async () => {
    const tar = await tarOf([
      { name: './', type: 'directory' },
      { name: './bin/', type: 'directory' },
      { name: './bin/app', body: '#!/bin/sh\necho hi\n', mode: 0o4755 },
      { name: 'etc/app.conf', body: 'x=1\n' },
    ]);
    for (const [mediaType, bytes] of [
      [GZIP, gzipSync(tar)],
      ['application/vnd.oci.image.layer.v1.tar+zstd', zstdCompressSync(tar)],
      ['application/vnd.oci.image.layer.v1.tar', tar],
    ] as const) {
      const dir = freshDir();
      const report = await extractLayer(Readable.from([bytes]), mediaType, dir);
      expect(readFileSync(join(dir, 'bin/app'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(statSync(join(dir, 'bin/app')).mode & 0o7777).toBe(0o755); // setuid dropped
      expect(report.files.map((f) => f.path).sort()).toEqual(['bin/app', 'etc/app.conf']);
    }
  });

  it('J1: refuses ../ and absolute names and writes nothing outside the directory', async () => {
    for (const name of ['../../escape', '/etc/escape', 'a/../../escape']) {
      const parent = freshDir();
      const dir = join(parent, 'out');
      const tar = await tarOf([{ name, body: 'pwned' }]);
      await expect(extractLayer(Readable.from([gzipSync(tar)]), GZIP, dir)).rejects.toMatchObject({ code: 'UNSAFE_ENTRY' });
      expect(readdirSync(parent)).toEqual([]);
    }
  });

  it('J2, J3, J4, J6: links, whiteouts and device nodes are skipped with a note, never created', async () => {
    const tar = await tarOf([
      { name: 'link', type: 'symlink', linkname: '../../..' },
      { name: 'hard', type: 'link', linkname: '/etc/passwd' },
      { name: '.wh.gone', body: '' },
      { name: 'dir/.wh..wh..opq', body: '' },
      { name: 'null', type: 'character-device' },
      { name: 'pipe', type: 'fifo' },
      { name: 'kept', body: 'ok' },
    ]);
    const dir = freshDir();
    const report = await extractLayer(Readable.from([gzipSync(tar)]), GZIP, dir);
    expect(readdirSync(dir).sort()).toEqual(['kept']);
    expect(report.skipped.map((s) => s.path).sort()).toEqual(['.wh.gone', 'dir/.wh..wh..opq', 'hard', 'link', 'null', 'pipe']);
  });

  it('D1: a layer whose bytes do not match its declared compression fails clearly', async () => {
    const tar = await tarOf([{ name: 'a', body: 'a' }]);
    await expect(extractLayer(Readable.from([tar]), GZIP, freshDir())).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    await expect(extractLayer(Readable.from([gzipSync(tar)]), 'application/vnd.oci.image.layer.v1.tar', freshDir())).rejects.toMatchObject({ code: 'LAYER_INVALID' });
  });

  it('J7: stops at the entry limit', async () => {
    const tar = await tarOf(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: 'x' })));
    const dir = freshDir();
    await expect(extractLayer(Readable.from([gzipSync(tar)]), GZIP, dir, { maxEntries: 10, maxTotalBytes: 1e9 })).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    expect(existsSync(join(dir, 'f15'))).toBe(false);
  });
});

describe('safeEntryPath', () => {
  it.each([
    ['./a/b', 'a/b'],
    ['a//b/', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/../b', 'b'],
    ['./', undefined],
  ])('%s → %s', (input, expected) => expect(safeEntryPath(input)).toBe(expected));
});
