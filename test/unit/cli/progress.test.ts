import { describe, expect, it } from 'vitest';
import { parseByteSize, formatBytes } from '../../../cli/get/byte-size.ts';
import { hostPlatform } from '../../../cli/get/host-platform.ts';
import { createProgress, formatDuration } from '../../../cli/get/progress.ts';

describe('progress', () => {
  it('on a TTY redraws one bar line with bytes, rate and ETA, and clears it before other lines', () => {
    let out = '';
    let clock = 0;
    const progress = createProgress('tty', (text) => void (out += text), () => clock);
    progress.bytes('layer 1/1', 0, 10 * 1024 * 1024);
    clock = 1000;
    progress.bytes('layer 1/1', 2 * 1024 * 1024, 10 * 1024 * 1024);
    expect(out.split('\r\x1b[K').at(-1)).toBe('layer 1/1 [#####-------------------] 2.0 MiB / 10 MiB  2.0 MiB/s ETA 0:04');
    clock = 1050; // within the redraw interval: nothing drawn
    const before = out;
    progress.bytes('layer 1/1', 3 * 1024 * 1024, 10 * 1024 * 1024);
    expect(out).toBe(before);
    progress.line('layer 1/1 done');
    expect(out.endsWith('\r\x1b[Klayer 1/1 done\n')).toBe(true);
  });

  it('plain output prints lines only; silent prints nothing', () => {
    let plain = '';
    const p = createProgress('plain', (text) => void (plain += text));
    p.bytes('x', 1, 2);
    p.line('a line');
    expect(plain).toBe('a line\n');
    let silent = '';
    const s = createProgress('silent', (text) => void (silent += text));
    s.line('a line');
    s.bytes('x', 1, 2);
    expect(silent).toBe('');
  });

  it.each([
    [75, '1:15'],
    [3725, '1:02:05'],
    [0, '0:00'],
  ])('formatDuration(%d) = %s', (seconds, text) => expect(formatDuration(seconds)).toBe(text));
});

describe('byte sizes', () => {
  it.each([
    ['1048576', 1048576],
    ['512M', 512 * 1024 ** 2],
    ['16GiB', 16 * 1024 ** 3],
    ['2t', 2 * 1024 ** 4],
    ['4 kb', 4096],
  ])('parseByteSize(%s) = %d', (text, bytes) => expect(parseByteSize(text, 'x')).toBe(bytes));

  it.each(['', 'lots', '-1', '0', '1.5G'])('parseByteSize refuses %j', (text) => {
    expect(() => parseByteSize(text, '--max-bytes')).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST' }));
  });

  it.each([
    [512, '512 B'],
    [1536, '1.5 KiB'],
    [10 * 1024 * 1024, '10 MiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});

describe('hostPlatform', () => {
  it.each([
    ['linux', 'x64', { os: 'linux', architecture: 'amd64' }],
    ['linux', 'arm64', { os: 'linux', architecture: 'arm64' }],
    ['linux', 'arm', { os: 'linux', architecture: 'arm', variant: 'v7' }],
    ['darwin', 'arm64', { os: 'darwin', architecture: 'arm64' }],
    ['win32', 'x64', { os: 'windows', architecture: 'amd64' }],
    ['aix', 'ppc', { os: 'linux', architecture: 'amd64' }],
  ])('%s/%s → %o', (platform, arch, expected) => expect(hostPlatform(platform, arch)).toEqual(expected));
});
