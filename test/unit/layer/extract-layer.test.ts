import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { craftTar, type CraftedEntry } from '../../support/crafted-tar.ts';
import { digestOf } from '../../../shared/digest.ts';
import { extractLayer, safeEntryPath } from '../../../shared/layer/extract-layer.ts';
import { verifyDigest } from '../../../shared/verify-digest.ts';



const GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const gz = async (entries: CraftedEntry[]) => Readable.from([gzipSync(await craftTar(entries))]);
/** A parent holding only the output dir, so "nothing written outside" is checkable. */
const sandbox = () => {
  const parent = mkdtempSync(join(tmpdir(), 'extract-'));
  return { parent, dir: join(parent, 'out') };
};

describe('extractLayer', () => {
  it('writes files and directories, normalising ./ names (J5), for gzip, zstd and plain tar (D1)', async () => {
    const tar = await craftTar([
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
      const { dir } = sandbox();
      const report = await extractLayer(Readable.from([bytes]), mediaType, dir);
      expect(readFileSync(join(dir, 'bin/app'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
      expect(statSync(join(dir, 'bin/app')).mode & 0o7777).toBe(0o755); // setuid dropped
      expect(report.files.map((f) => f.path).sort()).toEqual(['bin/app', 'etc/app.conf']);
    }
  });

  it('J1: refuses ../ and absolute names and writes nothing outside the directory', async () => {
    for (const name of ['../../escape', '/etc/escape', 'a/../../escape', '..']) {
      const { parent, dir } = sandbox();
      await expect(extractLayer(await gz([{ name: 'ok', body: 'fine' }, { name, body: 'pwned' }]), GZIP, dir)).rejects.toMatchObject({ code: 'UNSAFE_ENTRY' });
      expect(readdirSync(parent)).toEqual(['out']);
      expect(readdirSync(dir)).toEqual(['ok']); // the caller removes its partial tree
    }
  });

  it('J2: a symlink that leaves the directory is kept as a link and never followed', async () => {
    const { parent, dir } = sandbox();
    const report = await extractLayer(await gz([{ name: 'up', type: 'symlink', linkname: '../../..' }, { name: 'abs', type: 'symlink', linkname: '/etc/passwd' }]), GZIP, dir);
    expect(readlinkSync(join(dir, 'up'))).toBe('../../..');
    expect(readlinkSync(join(dir, 'abs'))).toBe('/etc/passwd');
    expect(report.symlinks).toEqual([{ path: 'up', target: '../../..' }, { path: 'abs', target: '/etc/passwd' }]);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('J2: an entry through a symlink refuses the layer; nothing lands where the link points', async () => {
    const { parent, dir } = sandbox();
    const outside = mkdtempSync(join(tmpdir(), 'outside-'));
    const layer = await gz([{ name: 'link', type: 'symlink', linkname: outside }, { name: 'link/pwned', body: 'x' }]);
    await expect(extractLayer(layer, GZIP, dir)).rejects.toMatchObject({ code: 'UNSAFE_ENTRY', message: expect.stringContaining('symlink "link"') });
    expect(readdirSync(outside)).toEqual([]);
    expect(readdirSync(parent)).toEqual(['out']);
  });

  it('J2: a file at a symlink\'s own path replaces the link instead of writing through it', async () => {
    const { dir } = sandbox();
    const outside = join(mkdtempSync(join(tmpdir(), 'outside-')), 'victim');
    writeFileSync(outside, 'original');
    await extractLayer(await gz([{ name: 'x', type: 'symlink', linkname: outside }, { name: 'x', body: 'replaced' }]), GZIP, dir);
    expect(readFileSync(outside, 'utf8')).toBe('original');
    expect(lstatSync(join(dir, 'x')).isFile()).toBe(true);
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('replaced');
  });

  it('J3: hard links outside the root are refused; inside they become links to the extracted file', async () => {
    for (const linkname of ['/etc/passwd', '../outside', 'a/../../x']) {
      const { parent, dir } = sandbox();
      await expect(extractLayer(await gz([{ name: 'hard', type: 'link', linkname }]), GZIP, dir)).rejects.toMatchObject({ code: 'UNSAFE_ENTRY' });
      expect(readdirSync(parent)).toEqual(['out']);
    }
    const { dir } = sandbox();
    const report = await extractLayer(await gz([{ name: 'bin/app', body: 'binary' }, { name: 'bin/app-alias', type: 'link', linkname: './bin/app' }]), GZIP, dir);
    expect(statSync(join(dir, 'bin/app-alias')).ino).toBe(statSync(join(dir, 'bin/app')).ino);
    expect(report.hardlinks).toEqual([{ path: 'bin/app-alias', target: 'bin/app' }]);
  });

  it('J3: a hard link to a symlink (which could point anywhere) is refused as LAYER_INVALID', async () => {
    const { dir } = sandbox();
    const layer = await gz([{ name: 's', type: 'symlink', linkname: '/etc/passwd' }, { name: 'h', type: 'link', linkname: 's' }]);
    await expect(extractLayer(layer, GZIP, dir)).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    expect(existsSync(join(dir, 'h'))).toBe(false);
  });

  it('J4, J6: in a single layer whiteouts, devices and FIFOs are never written, each with a note', async () => {
    const { dir } = sandbox();
    const report = await extractLayer(await gz([
      { name: '.wh.gone', body: '' },
      { name: 'dir/.wh..wh..opq', body: '' },
      { name: '.wh..wh.plnk', type: 'directory' },
      { name: 'null', type: 'character-device' },
      { name: 'sda', type: 'block-device' },
      { name: 'pipe', type: 'fifo' },
      { name: 'kept', body: 'ok' },
    ]), GZIP, dir);
    expect(readdirSync(dir).sort()).toEqual(['kept']);
    expect(report.skipped.map((s) => s.path).sort()).toEqual(['.wh..wh.plnk', 'gone', 'null', 'pipe', 'sda']);
    expect(report.removed).toEqual([]);
  });

  it('J4: applied in order, whiteouts remove lower-layer paths and opaque markers empty a directory of lower content', async () => {
    const { dir } = sandbox();
    await extractLayer(await gz([
      { name: 'a', body: 'lower a' },
      { name: 'keep', body: 'lower keep' },
      { name: 'dir/x', body: 'lower x' },
      { name: 'dir/sub/y', body: 'lower y' },
      { name: 'tree/deep/file', body: 'lower' },
    ]), GZIP, dir);
    const report = await extractLayer(await gz([
      { name: 'dir/z', body: 'upper z' }, // before the opaque marker: this layer's own entries stay
      { name: 'dir/.wh..wh..opq', body: '' },
      { name: '.wh.a', body: '' },
      { name: '.wh.tree', body: '' },
      { name: '.wh.never-existed', body: '' },
    ]), GZIP, dir);
    expect(readdirSync(dir).sort()).toEqual(['dir', 'keep']);
    expect(readdirSync(join(dir, 'dir'))).toEqual(['z']);
    expect(report.removed.sort()).toEqual(['a', 'dir/sub', 'dir/x', 'tree']);
    expect(report.skipped).toEqual([{ path: 'never-existed', reason: 'whiteout with nothing below it' }]);
  });

  it('a later layer replaces a lower file, directory or symlink at the same path', async () => {
    const { dir } = sandbox();
    await extractLayer(await gz([{ name: 'f', type: 'directory' }, { name: 'f/inner', body: 'x' }, { name: 'g', body: 'file' }]), GZIP, dir);
    await extractLayer(await gz([{ name: 'f', body: 'now a file' }, { name: 'g/inner', body: 'now a dir' }]), GZIP, dir);
    expect(readFileSync(join(dir, 'f'), 'utf8')).toBe('now a file');
    expect(readFileSync(join(dir, 'g/inner'), 'utf8')).toBe('now a dir');
  });

  it('D1: a layer whose bytes do not match its declared compression fails clearly', async () => {
    const tar = await craftTar([{ name: 'a', body: 'a' }]);
    await expect(extractLayer(Readable.from([tar]), GZIP, sandbox().dir)).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    await expect(extractLayer(Readable.from([gzipSync(tar)]), 'application/vnd.oci.image.layer.v1.tar', sandbox().dir)).rejects.toMatchObject({ code: 'LAYER_INVALID' });
  });

  it('D2/D3: the digest decides, even when the decoder fails first or the tar ends early', async () => {
    const bytes = gzipSync(await craftTar([{ name: 'a', body: 'x'.repeat(10_000) }]));
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 6] = flipped[flipped.length - 6]! ^ 0xff; // inside the gzip trailer: gunzip fails on its CRC
    await expect(extractLayer(Readable.from([flipped]).pipe(verifyDigest(digestOf(bytes), bytes.length)), GZIP, sandbox().dir)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
    // Junk after a valid gzip stream, with a digest that matches all of it: verified but not a layer.
    const junk = Buffer.concat([bytes, Buffer.from('trailing junk')]);
    await expect(extractLayer(Readable.from([junk]).pipe(verifyDigest(digestOf(junk), junk.length)), GZIP, sandbox().dir)).rejects.toMatchObject({ code: 'LAYER_INVALID' });
    // Extra bytes after the tar end marker in a plain layer: read to the end, where the digest check fails.
    const tar = await craftTar([{ name: 'a', body: 'a' }]);
    const longer = Buffer.concat([tar, Buffer.alloc(4096)]);
    await expect(extractLayer(Readable.from([longer]).pipe(verifyDigest(digestOf(tar), tar.length)), 'application/vnd.oci.image.layer.v1.tar', sandbox().dir)).rejects.toMatchObject({ code: 'SIZE_MISMATCH' });
  });

  it('J7: stops at the entry limit with a clear error', async () => {
    const { dir } = sandbox();
    const layer = await gz(Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, body: 'x' })));
    await expect(extractLayer(layer, GZIP, dir, { maxEntries: 10, maxTotalBytes: 1e9 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('more than 10 entries') });
    expect(existsSync(join(dir, 'f15'))).toBe(false);
  });

  it('J7: a small gzip that expands past the byte limit stops before the disk fills', async () => {
    const { dir } = sandbox();
    const bomb = gzipSync(await craftTar([{ name: 'zeros', body: Buffer.alloc(64 * 1024 * 1024) }]));
    expect(bomb.length).toBeLessThan(200 * 1024);
    await expect(extractLayer(Readable.from([bomb]), GZIP, dir, { maxEntries: 10, maxTotalBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringContaining('more than 1048576 bytes') });
    expect(statSync(join(dir, 'zeros')).size).toBeLessThanOrEqual(1024 * 1024);
  });
});

describe('safeEntryPath', () => {
  it.each([
    ['./a/b', 'a/b'],
    ['a//b/', 'a/b'],
    ['a/./b', 'a/b'],
    ['a/../b', 'b'],
    ['./', undefined],
    ['.', undefined],
  ])('%s → %s', (input, expected) => expect(safeEntryPath(input)).toBe(expected));

  it.each(['/abs', '../x', 'a/../../x', 'C:\\x', 'a\0b', '..\\x'])('refuses %j', (input) => {
    expect(() => safeEntryPath(input)).toThrow(expect.objectContaining({ code: 'UNSAFE_ENTRY' }));
  });
});
