import { RelayError } from '../errors.ts';
import { redactUrl } from '../redact.ts';
import { forbiddenHostError, isForbiddenHost } from './forbidden-host.ts';

/**
 * The realm of a Bearer challenge is where we send the registry password (Basic, to get a token),
 * and any 401 can name one: it gets the checks a redirect gets, and more (go-containerregistry
 * `transport/bearer.go` validateRealmURL). It may name another host than the registry (Harbor's
 * external URL: field case H3), so the host itself is not pinned.
 */

/**
 * The realm `realm` as a URL, when it is safe to send credentials there for the registry at
 * `registryUrl`: http(s) only; http only when the registry itself is http (else the password
 * would travel in clear text); never a link-local or metadata host (resolved names are refused
 * at connect time). Throws REGISTRY_ERROR, or REDIRECT_REFUSED for a forbidden host; neither is retried.
 */
export function parseTokenRealm(realm: string, registryUrl: URL, registry: string): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    throw new RelayError('REGISTRY_ERROR', `${registry} named a token realm that is not a URL`, { details: { registry } });
  }
  const details = { registry, realm: redactUrl(url) };
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new RelayError('REGISTRY_ERROR', `${registry} named a token realm with scheme ${url.protocol} (only http and https are used)`, { details });
  }
  if (url.protocol === 'http:' && registryUrl.protocol === 'https:') {
    throw new RelayError(
      'REGISTRY_ERROR',
      `${registry} is https but named an http:// token realm (${redactUrl(url)}): the credentials would travel in clear text. ` +
        "Fix Harbor's external URL (hostname / external_url in harbor.yml)",
      { details },
    );
  }
  if (isForbiddenHost(url.hostname)) throw forbiddenHostError(`token realm ${redactUrl(url)}`, url.hostname, details);
  return url;
}
