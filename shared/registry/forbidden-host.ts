import { isIP } from 'node:net';

/**
 * Hosts a redirect or a foreign-layer URL must never lead us to: link-local addresses and cloud
 * instance-metadata endpoints, where a request from the worker reads the machine's own cloud
 * credentials (the SSRF behind the 2019 Capital One breach). The registry URL the operator
 * configured is not checked: only addresses a server or a manifest handed us.
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
/** Metadata addresses outside 169.254/16: AWS's IPv6 IMDS, Alibaba Cloud's. */
const METADATA_ADDRESSES: ReadonlySet<string> = new Set(['fd00:ec2::254', '100.100.100.200']);

/** True when `hostname` (a URL's hostname, IPv6 with or without brackets) is link-local or a metadata endpoint. */
export function isForbiddenHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (METADATA_NAMES.has(host) || METADATA_ADDRESSES.has(host)) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('169.254.');
  if (family === 6) {
    // fe80::/10 is fe80 to febf; an IPv4-mapped ::ffff:169.254.x.x reaches the same place.
    if (/^fe[89ab][0-9a-f]?:/.test(host)) return true;
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host) ?? /^::ffff:a9fe:[0-9a-f]{1,4}$/.exec(host);
    if (mapped) return mapped[1] === undefined ? true : mapped[1].startsWith('169.254.');
  }
  return false;
}
