import { createHash } from 'node:crypto';
import { lstatSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLayerFiles } from '../../../functions/worker/store-files.ts';
import { digestOf } from '../../../shared/digest.ts';
import { isRelayError } from '../../../shared/errors.ts';
import { extractLayer } from '../../../shared/layer/extract-layer.ts';
import { silentLogger } from '../../../shared/log.ts';
import { FileBlobStore } from '../../../shared/store/file-blob-store.ts';
import { craftTar, type CraftedEntry } from '../../support/crafted-tar.ts';

/*
 * The host (`layer-relay get`, extractLayer) and the worker's `files` listing (store-files.ts) must
 * give the same verdict on every layer: the files the worker lists are exactly the regular files the
 * host leaves on disk, with the same bytes, and a layer one refuses the other refuses with the same
 * code (h2 B1). Each case also states the outcome, so the table cannot pass by both being wrong alike.
 */

const TAR = 'application/vnd.oci.image.layer.v1.tar';
const OUTSIDE = mkdtempSync(join(tmpdir(), 'equivalence-outside-'));
type Outcome = { files: string[] } | { error: string };
const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const deep = (depth: number) => Array.from({ length: depth }, () => 'd').join('/');

const CASES: [string, CraftedEntry[], Outcome][] = [
  ['an entry through a symlink to an absolute path', [{ name: 'l', type: 'symlink', linkname: OUTSIDE }, { name: 'l/PWNED', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['an entry through a symlink that climbs out', [{ name: 'a', type: 'symlink', linkname: '../../..' }, { name: 'a/PWNED', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['an entry through a chain of symlinks', [{ name: 'b', type: 'symlink', linkname: OUTSIDE }, { name: 'a', type: 'symlink', linkname: 'b' }, { name: 'a/PWNED', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['an entry through a nested symlink', [{ name: 'd/s', type: 'symlink', linkname: OUTSIDE }, { name: 'd/s/PWNED', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['an entry through a link to .', [{ name: 'l', type: 'symlink', linkname: '.' }, { name: 'l/x', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['a hard link placed through a symlink', [{ name: 'f', body: 'f' }, { name: 'l', type: 'symlink', linkname: OUTSIDE }, { name: 'l/PWNED', type: 'link', linkname: 'f' }], { error: 'UNSAFE_ENTRY' }],
  ['a directory replaced by a symlink, then an entry under it', [{ name: 'd', type: 'directory' }, { name: 'd/ok', body: 'ok' }, { name: 'd', type: 'symlink', linkname: OUTSIDE }, { name: 'd/PWNED', body: 'x' }], { error: 'UNSAFE_ENTRY' }],
  ['an entry under a path the layer made a file', [{ name: 'a', type: 'directory' }, { name: 'a/b', body: 'b' }, { name: 'a', body: 'file' }, { name: 'a/c', body: 'c' }], { error: 'LAYER_INVALID' }],
  ['a file replaced by a directory', [{ name: 'a', body: 'file' }, { name: 'a', type: 'directory' }, { name: 'a/b', body: 'b' }], { files: ['a/b'] }],
  ['a directory replaced by a file drops what was under it', [{ name: 'a', type: 'directory' }, { name: 'a/b', body: 'b' }, { name: 'a', body: 'file' }], { files: ['a'] }],
  ['a directory replaced by a symlink drops what was under it', [{ name: 'd/ok', body: 'ok' }, { name: 'd', type: 'symlink', linkname: OUTSIDE }], { files: [] }],
  ['a file replaced by a symlink', [{ name: 'a', body: 'file' }, { name: 'a', type: 'symlink', linkname: 'elsewhere' }], { files: [] }],
  ['a symlink replaced by a file', [{ name: 'x', type: 'symlink', linkname: OUTSIDE }, { name: 'x', body: 'mine' }], { files: ['x'] }],
  ['a same-layer whiteout of a file (it hides lower layers only)', [{ name: 'a', body: 'kept' }, { name: '.wh.a', body: '' }], { files: ['a'] }],
  ['a same-layer whiteout of a directory', [{ name: 'd/f', body: 'kept' }, { name: '.wh.d', body: '' }], { files: ['d/f'] }],
  ['a same-layer opaque marker', [{ name: 'a/b', body: 'kept' }, { name: 'a/.wh..wh..opq', body: '' }], { files: ['a/b'] }],
  ['a hard link to itself', [{ name: 'h', type: 'link', linkname: 'h' }], { files: [] }],
  ['a file, then a hard link of it to itself', [{ name: 'h', body: 'h' }, { name: 'h', type: 'link', linkname: 'h' }], { files: ['h'] }],
  ['a hard link and a regular file', [{ name: 'bin/app', body: 'app' }, { name: 'bin/app-hard', type: 'link', linkname: 'bin/app' }], { files: ['bin/app', 'bin/app-hard'] }],
  ['a hard link keeps the old bytes when its target is replaced', [{ name: 'f', body: 'one' }, { name: 'h', type: 'link', linkname: 'f' }, { name: 'f', body: 'two' }], { files: ['f', 'h'] }],
  ['a hard link to a later entry', [{ name: 'h', type: 'link', linkname: 'f' }, { name: 'f', body: 'f' }], { error: 'LAYER_INVALID' }],
  ['a hard link to a directory', [{ name: 'd', type: 'directory' }, { name: 'h', type: 'link', linkname: 'd' }], { error: 'LAYER_INVALID' }],
  ['a hard link through a symlink', [{ name: 'd/f', body: 'f' }, { name: 's', type: 'symlink', linkname: 'd' }, { name: 'h', type: 'link', linkname: 's/f' }], { error: 'LAYER_INVALID' }],
  ['a hard link that replaces the directory holding its target', [{ name: 'd/f', body: 'f' }, { name: 'd', type: 'link', linkname: 'd/f' }], { error: 'LAYER_INVALID' }],
  ['a FIFO at a file\'s path is skipped, the file stays', [{ name: 'a', body: 'a' }, { name: 'a', type: 'fifo' }], { files: ['a'] }],
  ['a path component longer than NAME_MAX', [{ name: 'x'.repeat(300), body: 'x' }], { error: 'LAYER_INVALID' }],
  ['a path deeper than the depth limit', [{ name: `${deep(300)}/f`, body: 'x' }], { error: 'LIMIT_EXCEEDED' }],
  ['a path at the depth limit', [{ name: `${deep(255)}/f`, body: 'x' }], { files: [`${deep(255)}/f`] }],
];

/** What the host leaves: every regular file under `dir`, with the digest of its bytes. */
function regularFiles(dir: string, at = ''): [string, string][] {
  return readdirSync(join(dir, at)).flatMap((name): [string, string][] => {
    const path = at === '' ? name : `${at}/${name}`;
    const info = lstatSync(join(dir, path));
    if (info.isDirectory()) return regularFiles(dir, path);
    return info.isFile() ? [[path, sha256(readFileSync(join(dir, path)))]] : [];
  });
}

async function onHost(tar: Buffer): Promise<{ files: [string, string][] } | { error: string }> {
  const dir = join(mkdtempSync(join(tmpdir(), 'equivalence-host-')), 'out');
  try {
    await extractLayer(Readable.from([tar]), TAR, dir);
    return { files: regularFiles(dir).sort() };
  } catch (err) {
    return { error: isRelayError(err) ? err.code : String(err) };
  }
}

async function onWorker(tar: Buffer): Promise<{ files: [string, string][] } | { error: string }> {
  const store = await FileBlobStore.open({ root: mkdtempSync(join(tmpdir(), 'equivalence-worker-')), publicBaseUrl: 'http://127.0.0.1:8080' });
  const files = createLayerFiles({ digest: digestOf(tar), size: tar.length, mediaType: TAR }, { store, log: silentLogger });
  files.tee(Readable.from([tar])).resume();
  const outcome = await files.finish();
  if (outcome.filesError) return { error: outcome.filesError.code };
  return { files: (outcome.files ?? []).map((file): [string, string] => [file.path, file.digest]).sort() };
}

describe('the host and the worker apply one set of extraction rules', () => {
  it.each(CASES)('%s', async (_name, entries, expected) => {
    const tar = await craftTar(entries);
    const [host, worker] = await Promise.all([onHost(tar), onWorker(tar)]);
    expect(worker).toEqual(host);
    if ('error' in expected) expect(host).toEqual(expected);
    else expect('files' in host ? host.files.map(([path]) => path) : host).toEqual([...expected.files].sort());
  });

  it('entries after the end-of-archive marker: both refuse the layer (h2 B6)', async () => {
    const tar = Buffer.concat([await craftTar([{ name: 'hello.txt', body: 'hi' }]), await craftTar([{ name: 'HIDDEN-after-eof', body: 'x' }])]);
    const [host, worker] = await Promise.all([onHost(tar), onWorker(tar)]);
    expect(host).toEqual({ error: 'LAYER_INVALID' });
    expect(worker).toEqual(host);
  });
});
