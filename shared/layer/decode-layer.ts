import type { Readable } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { RelayError } from '../errors.ts';

/** How a layer's tar is compressed. */
export type LayerCompression = 'gzip' | 'zstd' | 'none';

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);
const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
/**
 * Output chunk of the decoders. zlib's default (16 KiB) makes one thread-pool round trip per 16 KiB
 * and decodes a layer at ~150 MiB/s here; 256 KiB runs at ~550 MiB/s (measured on 256 MiB, bench
 * payload), faster than `gzip -d`. Held once per decoder, so memory stays flat.
 */
export const DECODE_CHUNK_BYTES = 256 * 1024;

/**
 * The compression a layer media type declares: Docker gzip, OCI tar / tar+gzip / tar+zstd, and
 * zstd spelled the Docker way (field case D1). Undefined for types that say nothing (then the
 * magic bytes decide).
 */
export function compressionOf(mediaType: string): LayerCompression | undefined {
  if (/\.tar\+gzip$|\.tar\.gzip$|rootfs\.diff\.tar\.gzip$/.test(mediaType) || mediaType.endsWith('+gzip')) return 'gzip';
  if (/\.tar\+zstd$|\.tar\.zstd$/.test(mediaType) || mediaType.endsWith('+zstd')) return 'zstd';
  if (/\.tar$|rootfs\.diff\.tar$/.test(mediaType)) return 'none';
  return undefined;
}

/** What the first bytes say. */
export function sniffCompression(head: Uint8Array): LayerCompression {
  if (startsWith(head, ZSTD_MAGIC)) return 'zstd';
  if (startsWith(head, GZIP_MAGIC)) return 'gzip';
  return 'none';
}

/**
 * The layer's tar stream: the decoder comes from the media type and must agree with the magic
 * bytes, so a layer that lies about its format fails clearly instead of extracting garbage.
 */
export async function decodeLayer(source: Readable, mediaType: string): Promise<Readable> {
  const head = await peek(source, ZSTD_MAGIC.length);
  const sniffed = sniffCompression(head);
  const declared = compressionOf(mediaType) ?? sniffed;
  if (declared !== sniffed) {
    source.destroy();
    throw new RelayError('LAYER_INVALID', `layer declared as ${mediaType} (${declared}) starts like ${sniffed} data`);
  }
  if (declared === 'none') return source;
  const decoder = declared === 'gzip' ? createGunzip({ chunkSize: DECODE_CHUNK_BYTES }) : createZstdDecompress({ chunkSize: DECODE_CHUNK_BYTES });
  source.on('error', (err) => decoder.destroy(err));
  return source.pipe(decoder);
}

/** Reads up to `n` bytes without consuming them (they are put back with unshift). */
function peek(source: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const chunk = (source.read(n) as Buffer | null) ?? (source.readableEnded ? Buffer.alloc(0) : null);
      if (chunk === null) return;
      cleanup();
      source.unshift(chunk);
      resolve(chunk);
    };
    const onEnd = () => {
      const rest = (source.read() as Buffer | null) ?? Buffer.alloc(0);
      cleanup();
      if (rest.length > 0) source.unshift(rest);
      resolve(rest);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      source.off('readable', attempt);
      source.off('end', onEnd);
      source.off('error', onError);
    };
    source.on('readable', attempt);
    source.once('end', onEnd);
    source.once('error', onError);
  });
}

function startsWith(bytes: Uint8Array, magic: Uint8Array): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}
