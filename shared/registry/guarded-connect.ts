import dns, { type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { forbiddenHostError, isForbiddenAddress } from './forbidden-host.ts';

/**
 * The connect-time half of the SSRF check: a name that passes forbidden-host.ts as text can still
 * resolve to 169.254.169.254 (`169.254.169.254.nip.io`, an attacker's own DNS, DNS rebinding
 * between our check and the connection). So the address actually connected to is checked, inside
 * undici's connector: every address a name resolves to, and IP literals. The registry's own host
 * (HARBOR_URL, chosen by the operator) is exempt: an on-prem Harbor may live anywhere.
 */

/** Options for {@link createGuardedConnector}. */
export interface GuardedConnectorOptions {
  /** The hostname never refused: the configured registry's (URL hostname, IPv6 with brackets or not). */
  readonly exemptHostname: string;
  /** TCP + TLS connect timeout in ms. */
  readonly timeout: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** An undici `connect` function (for `new Agent({ connect })`) that refuses link-local and metadata addresses with REDIRECT_REFUSED. */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const exempt = bare(options.exemptHostname);
  const lookup = (hostname: string, lookupOptions: dns.LookupOptions, callback: LookupCallback): void => {
    // Through the module object, so a test's patched dns.lookup is the one used; all: true, so every address is seen.
    dns.lookup(hostname, { ...lookupOptions, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const refused = bare(hostname) === exempt ? undefined : addresses.find((entry) => isForbiddenAddress(entry.address));
      if (refused) return callback(forbiddenHostError(`connection to ${hostname}`, `${hostname} (${refused.address})`), []);
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
  const connect = buildConnector({ timeout: options.timeout, lookup } as buildConnector.BuildOptions);
  return (connectOptions, callback) => {
    // IP literals never reach the lookup: check them here.
    const host = bare(connectOptions.hostname);
    if (host !== exempt && isIP(host) !== 0 && isForbiddenAddress(host)) {
      callback(forbiddenHostError(`connection to ${connectOptions.hostname}`, host), null);
      return;
    }
    connect(connectOptions, callback);
  };
}

function bare(hostname: string): string {
  return hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}
