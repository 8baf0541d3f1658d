import { describe, expect, it } from 'vitest';
import { formatPlatform, parsePlatform, selectPlatform, type PlatformCandidate } from '../../shared/platform.ts';

describe('parsePlatform', () => {
  it.each([
    ['linux/amd64', 'linux/amd64'],
    ['linux/x86_64', 'linux/amd64'],
    ['linux/x86_64/v1', 'linux/amd64'],
    ['linux/amd64/v1', 'linux/amd64'],
    ['linux/amd64/1', 'linux/amd64'],
    ['linux/amd64/v3', 'linux/amd64/v3'],
    ['linux/aarch64', 'linux/arm64'],
    ['linux/arm64/v8', 'linux/arm64'],
    ['linux/arm', 'linux/arm/v7'],
    ['linux/arm/6', 'linux/arm/v6'],
    ['Linux/AMD64', 'linux/amd64'],
    ['windows/amd64', 'windows/amd64'],
  ])('normalises %s to %s', (input, expected) => {
    expect(formatPlatform(parsePlatform(input))).toBe(expected);
  });

  it.each(['linux', 'linux/', '/amd64', 'linux/amd64/v1/x', 'linux/am d64', ''])('refuses %j', (input) => {
    expect(() => parsePlatform(input)).toThrow(expect.objectContaining({ code: 'INVALID_PLATFORM' }));
  });
});

type Entry = PlatformCandidate & { name: string };
const entry = (name: string, platform?: PlatformCandidate['platform'], annotations?: Record<string, string>): Entry => ({ name, platform, annotations });

describe('selectPlatform', () => {
  const index = [
    entry('amd64', { os: 'linux', architecture: 'amd64' }),
    entry('arm64', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    entry('armv6', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry('attestation', { os: 'unknown', architecture: 'unknown' }, { 'vnd.docker.reference.type': 'attestation-manifest' }),
  ];

  it('C2: arm64 with no variant matches an arm64/v8 entry and the reverse', () => {
    expect(selectPlatform(index, parsePlatform('linux/arm64')).name).toBe('arm64');
    const noVariant = [entry('arm64', { os: 'linux', architecture: 'arm64' })];
    expect(selectPlatform(noVariant, parsePlatform('linux/arm64/v8')).name).toBe('arm64');
  });

  it('arm/v7 falls back to a lower variant, never a higher one', () => {
    expect(selectPlatform(index, parsePlatform('linux/arm/v7')).name).toBe('armv6');
    expect(() => selectPlatform(index, parsePlatform('linux/arm/v5'))).toThrow(expect.objectContaining({ code: 'PLATFORM_NOT_FOUND' }));
  });

  describe('C2: amd64 microarchitecture levels (containerd: no variant is v1; a vN host runs vN and lower, never higher)', () => {
    // An entry per name: '' is plain amd64, 'x86_64' the alias spelling, anything else a variant.
    const amd64Entries = (names: string[]) =>
      names.map((name) => entry(name || 'plain', name === 'x86_64' ? { os: 'linux', architecture: 'x86_64' } : { os: 'linux', architecture: 'amd64', ...(name ? { variant: name } : {}) }));
    it.each([
      ['linux/amd64', ['', 'v2', 'v4'], 'plain'],
      ['linux/amd64/v1', ['', 'v2', 'v4'], 'plain'],
      ['linux/amd64/v2', ['', 'v2', 'v4'], 'v2'],
      ['linux/amd64/v3', ['', 'v2', 'v4'], 'v2'],
      ['linux/amd64/v4', ['', 'v2', 'v4'], 'v4'],
      ['linux/amd64/v5', ['', 'v2', 'v4'], 'v4'],
      ['linux/amd64/v3', [''], 'plain'],
      ['linux/amd64', ['v1'], 'v1'],
      ['linux/amd64/v2', ['x86_64', 'v2'], 'v2'],
      ['linux/amd64/v3', ['x86_64'], 'x86_64'],
    ])('%s picks from %j the entry %s', (want, names, expected) => {
      expect(selectPlatform(amd64Entries(names), parsePlatform(want)).name).toBe(expected);
    });

    it.each([
      ['linux/amd64', ['v2']],
      ['linux/amd64/v1', ['v3']],
      ['linux/amd64/v2', ['v3', 'v4']],
      ['linux/amd64/v3', ['sse9']],
    ])('%s never takes a higher (or unknown) level from %j', (want, names) => {
      expect(() => selectPlatform(amd64Entries(names), parsePlatform(want))).toThrow(expect.objectContaining({ code: 'PLATFORM_NOT_FOUND' }));
    });
  });

  it('prefers the exact arm variant over a lower one', () => {
    const both = [entry('v6', { os: 'linux', architecture: 'arm', variant: 'v6' }), entry('v7', { os: 'linux', architecture: 'arm', variant: 'v7' })];
    expect(selectPlatform(both, parsePlatform('linux/arm/v7')).name).toBe('v7');
  });

  it('C1: never picks an attestation entry and lists the real platforms when nothing matches', () => {
    expect(() => selectPlatform(index, parsePlatform('linux/s390x'))).toThrow(
      expect.objectContaining({ code: 'PLATFORM_NOT_FOUND', message: 'no manifest for platform linux/s390x; available: linux/amd64, linux/arm64, linux/arm/v6' }),
    );
    const onlyAttestation = [entry('attestation', { os: 'unknown', architecture: 'unknown' })];
    expect(() => selectPlatform(onlyAttestation, parsePlatform('linux/amd64'))).toThrow(expect.objectContaining({ code: 'PLATFORM_NOT_FOUND' }));
  });

  it('C3: an entry without platform matches only when it is the only real entry', () => {
    const lone = [entry('lone'), entry('att', { os: 'unknown', architecture: 'unknown' })];
    expect(selectPlatform(lone, parsePlatform('linux/arm64')).name).toBe('lone');
    const two = [entry('a'), entry('b')];
    expect(() => selectPlatform(two, parsePlatform('linux/amd64'))).toThrow(expect.objectContaining({ code: 'PLATFORM_NOT_FOUND' }));
  });
});
