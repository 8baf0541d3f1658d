import { BlockList, isIP } from 'node:net';
import { isRelayError, RelayError } from '../errors.ts';

/**
 * Hosts a redirect, a token realm or a foreign-layer URL must never lead us to: link-local
 * addresses and cloud instance-metadata endpoints, where a request from the worker reads the
 * machine's own cloud credentials (the SSRF behind the 2019 Capital One breach). The registry URL
 * the operator configured is not checked: only addresses a server or a manifest handed us. Names
 * are checked here as text; what they resolve to is checked at connect time (guarded-connect.ts).
 */

/** Metadata service names that resolve to link-local addresses inside clouds (GCP, Azure, OpenStack, AWS, Alibaba). */
const METADATA_NAMES: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.com',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** IPv4 link-local (every cloud's 169.254.169.254 lives there) and Alibaba Cloud's metadata address. */
const FORBIDDEN_IPV4: ReadonlyArray<readonly [string, number]> = [
  ['169.254.0.0', 16],
  ['100.100.100.200', 32],
];
/** IPv6 link-local and AWS's IPv6 IMDS. */
const FORBIDDEN_IPV6: ReadonlyArray<readonly [string, number]> = [
  ['fe80::', 10],
  ['fd00:ec2::254', 128],
];
/**
 * IPv6 prefixes that carry an IPv4 address in their last 32 bits and can reach it: NAT64's
 * well-known prefix (RFC 6052) and the deprecated IPv4-compatible form (RFC 4291 §2.5.5.1).
 * IPv4-mapped `::ffff:a.b.c.d` needs no entry: BlockList applies IPv4 rules to it itself.
 */
const IPV4_CARRYING_PREFIXES: readonly string[] = ['64:ff9b::', '::'];

/** Every forbidden range, over both families. */
const FORBIDDEN: BlockList = (() => {
  const list = new BlockList();
  for (const [address, prefix] of FORBIDDEN_IPV4) {
    list.addSubnet(address, prefix, 'ipv4');
    const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
    const tail = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
    for (const carrier of IPV4_CARRYING_PREFIXES) list.addSubnet(`${carrier}${tail}`, 96 + prefix, 'ipv6');
  }
  for (const [address, prefix] of FORBIDDEN_IPV6) list.addSubnet(address, prefix, 'ipv6');
  return list;
})();

/** True when `address` (an IP literal, IPv6 without brackets) is link-local or a metadata address, in any family or mapping. */
export function isForbiddenAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** True when `hostname` (a URL's hostname, IPv6 with or without brackets) is link-local or a metadata endpoint. */
export function isForbiddenHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return METADATA_NAMES.has(host) || isForbiddenAddress(host);
}

/** The REDIRECT_REFUSED for `what` (a redirect, a realm, a foreign URL, a connection) leading to a forbidden host. */
export function forbiddenHostError(what: string, host: string, details: Record<string, unknown> = {}): RelayError {
  return new RelayError('REDIRECT_REFUSED', `${what} refused: ${host} is a link-local or cloud-metadata address`, {
    details: { ...details, forbiddenHost: host },
  });
}

/** True for an error of {@link forbiddenHostError}: an attempt at the metadata service, never to be skipped quietly. */
export function isForbiddenHostError(err: unknown): err is RelayError {
  return isRelayError(err, 'REDIRECT_REFUSED') && err.details?.forbiddenHost !== undefined;
}
