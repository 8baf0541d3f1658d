import { redactUrl } from '../redact.ts';
import type { Descriptor } from './descriptor.ts';
import { forbiddenHostError, isForbiddenHost } from './forbidden-host.ts';

/**
 * Foreign (non-distributable) layers list `urls` where their bytes live (OCI image-spec
 * `descriptor.md` §urls; Windows base layers on mcr.microsoft.com). A manifest is data from the
 * registry, so fetching its URLs is SSRF unless the operator vouched for the host (field case K1):
 * by default none is allowed and the blob comes from the registry like any other. Allowed URLs are
 * fetched without any credentials, and every redirect hop must be on the list too: else any allowed
 * host could bounce the worker to loopback or an internal service.
 */

/** The descriptor's URLs we may fetch, in manifest order: http(s), on an allowed host (`host` or `host:port`). */
export function allowedForeignUrls(descriptor: Descriptor, allowedHosts: ReadonlySet<string>): URL[] {
  if (!descriptor.urls || allowedHosts.size === 0) return [];
  const allowed: URL[] = [];
  for (const value of descriptor.urls) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    if (!isAllowedForeignHost(url, allowedHosts)) continue;
    if (isForbiddenHost(url.hostname)) {
      throw forbiddenHostError(`foreign layer URL ${redactUrl(url)}`, url.hostname, { digest: descriptor.digest, url: redactUrl(url) });
    }
    url.username = '';
    url.password = '';
    allowed.push(url);
  }
  return allowed;
}

/** True when `url`'s `host:port` or bare host is on the operator's list; checked for every redirect hop of a foreign fetch too. */
export function isAllowedForeignHost(url: URL, allowedHosts: ReadonlySet<string>): boolean {
  return allowedHosts.has(url.host.toLowerCase()) || allowedHosts.has(url.hostname.toLowerCase());
}
