import { describe, expect, it } from 'vitest';
import { isForbiddenHost } from '../../../shared/registry/forbidden-host.ts';

describe('isForbiddenHost', () => {
  it.each([
    '169.254.169.254',
    '169.254.0.1',
    'metadata.google.internal',
    'METADATA.GOOGLE.INTERNAL.',
    'metadata',
    '[fe80::1]',
    'fe80::abcd',
    'febf::1',
    '[::ffff:169.254.169.254]',
    '::ffff:a9fe:a9fe',
    'fd00:ec2::254',
    '100.100.100.200',
    '[::ffff:100.100.100.200]',
    '::ffff:6464:64c8',
    'fd00:ec2:0:0:0:0:0:254',
    'FD00:EC2::254',
    '64:ff9b::a9fe:a9fe',
    '64:ff9b::169.254.169.254',
    '::169.254.169.254',
    '64:ff9b::6464:64c8',
  ])('refuses %s', (host) => {
    expect(isForbiddenHost(host)).toBe(true);
  });

  it.each(['127.0.0.1', '10.0.0.5', 'harbor.example.com', 's3.amazonaws.com', '::1', 'fec0::1', '169.255.0.1', 'metadata.example.com', '::ffff:127.0.0.1', '64:ff9b::a00:5', 'fd00:ec2::253', '100.100.100.201'])('allows %s', (host) => {
    expect(isForbiddenHost(host)).toBe(false);
  });
});
