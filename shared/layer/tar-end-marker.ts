import type { Extract } from 'tar-stream';

/** The parts of tar-stream 3's parser (extract.js) this hooks; checked at run time, so an upgrade that moves them fails loudly. */
interface ExtractParser {
  _consumeHeader(): boolean;
  _header: unknown;
  _buffer: { buffered: number; shift(size: number): Uint8Array | null };
  _write(data: Uint8Array, callback: (err: Error | null) => void): void;
  _continueWrite(err: Error | null): void;
}

/**
 * Makes `tar` end at the end-of-archive marker. tar-stream skips a zero header block and parses on,
 * so entries placed after the marker were extracted and listed, while GNU tar, Python's tarfile and
 * Go's archive/tar (docker, containerd, scanners) stop there and never see them (h2 B6).
 *
 * The archive ends at its first zero header block (GNU tar and Python stop there; Go needs a second
 * zero block and refuses anything else). What follows must be zeros, the usual padding to the
 * writer's record size: non-zero bytes there are refused, as junk after a gzip stream is (D2),
 * because a layer that tar readers disagree about should fail loudly, not extract one reader's view.
 * The stream is still read to its end, so a verifying source checks the digest first (D3).
 */
export function endAtArchiveMarker(tar: Extract): Extract {
  const parser = tar as unknown as ExtractParser;
  if (typeof parser._consumeHeader !== 'function' || typeof parser._write !== 'function' || typeof parser._continueWrite !== 'function' || parser._buffer === undefined) {
    throw new Error('tar-stream internals changed: the end-of-archive hook (tar-end-marker.ts) needs updating');
  }
  const consumeHeader = parser._consumeHeader;
  const afterEnd = (bytes: Uint8Array | null): Error | null => (bytes === null || bytes.every((byte) => byte === 0) ? null : new Error('non-zero data after the end-of-archive marker'));
  parser._consumeHeader = function (this: ExtractParser) {
    const consumed = consumeHeader.call(this);
    if (!consumed || this._header !== null) return consumed;
    // A zero block where a header belongs: the end. From here on bytes are checked, never parsed.
    this._write = (data, callback) => callback(afterEnd(data));
    const trailing = afterEnd(this._buffer.shift(this._buffer.buffered));
    if (trailing === null) return true;
    this._continueWrite(trailing);
    return false;
  };
  return tar;
}
