import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { craftTar } from '../../support/crafted-tar.ts';
import { readLayer } from '../../../shared/layer/read-layer.ts';

const TAR = 'application/vnd.oci.image.layer.v1.tar';


const errno = (code: string, syscall: string) => Object.assign(new Error(`${code}: simulated, ${syscall}`), { code, syscall, errno: -1 });

describe('readLayer: whose fault an error is', () => {
  it('a disk that fills while the visitor writes is FILESYSTEM_ERROR, retryable, never LAYER_INVALID', async () => {
    const layer = Readable.from([await craftTar([{ name: 'big', body: Buffer.alloc(256 * 1024, 1) }])]);
    // /dev/full answers every write with ENOSPC: a real full disk, from the kernel.
    const failure = readLayer(layer, TAR, async (entry) => {
      if (entry.kind === 'file') await pipeline(entry.body, createWriteStream('/dev/full'));
    });
    await expect(failure).rejects.toMatchObject({ code: 'FILESYSTEM_ERROR', retryable: true, message: expect.stringContaining('ENOSPC') });
  });

  it.each([
    ['EIO', true],
    ['EMFILE', true],
    ['EACCES', false],
    ['EROFS', false],
    ['ENAMETOOLONG', false],
  ])('%s from the visitor is FILESYSTEM_ERROR (retryable: %s)', async (code, retryable) => {
    const layer = Readable.from([await craftTar([{ name: 'a', body: 'x' }, { name: 'b', body: 'y' }])]);
    const failure = readLayer(layer, TAR, async () => {
      throw errno(code, 'open');
    });
    await expect(failure).rejects.toMatchObject({ code: 'FILESYSTEM_ERROR', retryable });
  });

  it('a parser fault is still LAYER_INVALID', async () => {
    const garbage = Buffer.alloc(1024, 0x41);
    await expect(readLayer(Readable.from([garbage]), TAR, async () => undefined)).rejects.toMatchObject({ code: 'LAYER_INVALID' });
  });
});

describe('readLayer: the end-of-archive marker (h2 B6)', () => {
  const names = async (bytes: Buffer) => {
    const seen: string[] = [];
    await readLayer(Readable.from([bytes]), TAR, async (entry) => {
      seen.push(entry.path);
    });
    return seen;
  };

  it('refuses entries hidden after the marker, which GNU tar and Go\'s archive/tar never see', async () => {
    const first = await craftTar([{ name: 'hello.txt', body: 'hi' }]);
    const hidden = await craftTar([{ name: 'HIDDEN-after-eof', body: 'x' }]);
    await expect(names(Buffer.concat([first, hidden]))).rejects.toMatchObject({ code: 'LAYER_INVALID', message: expect.stringContaining('after the end-of-archive marker') });
  });

  it('accepts zero padding after the marker (tar writers pad to their record size)', async () => {
    const tar = await craftTar([{ name: 'a', body: 'a' }]);
    expect(await names(Buffer.concat([tar, Buffer.alloc(10 * 1024)]))).toEqual(['a']);
  });

  it('still reads to the end, so a digest check on the source decides first (D3)', async () => {
    const { verifyDigest } = await import('../../../shared/verify-digest.ts');
    const { digestOf } = await import('../../../shared/digest.ts');
    const tar = await craftTar([{ name: 'a', body: 'a' }]);
    const tampered = Buffer.concat([tar, Buffer.from('junk'.repeat(200))]);
    const source = Readable.from([tampered]).pipe(verifyDigest(digestOf(tar), tampered.length));
    await expect(readLayer(source, TAR, async () => undefined)).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
