import { describe, expect, it } from 'vitest';
import { configPlatform } from '../../../shared/registry/image-config.ts';

const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('configPlatform', () => {
  it('reads os, architecture and variant', () => {
    expect(configPlatform(bytes({ os: 'linux', architecture: 'arm', variant: 'v7', rootfs: {} }))).toEqual({ platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
  });

  it.each([{}, { os: 'linux' }, { architecture: 'amd64' }, { os: '', architecture: 'amd64' }, [], 'text', null])('says nothing for %j (matches any platform)', (value) => {
    expect(configPlatform(bytes(value))).toBeUndefined();
  });

  it('says nothing for bytes that are not JSON', () => {
    expect(configPlatform(Buffer.from('\x1f\x8bnot json'))).toBeUndefined();
  });
});
