import { RELAY_REALM, type AccessControl } from './access-control.ts';
import type { Caller } from './caller.ts';

const ANONYMOUS: Caller = { kind: 'anonymous' };

/** RELAY_AUTH=none: everyone may do everything. config.ts refuses it unless the relay listens on loopback only. */
export function createOpenAccess(): AccessControl {
  return {
    mode: 'none',
    challenge: `Basic realm="${RELAY_REALM}"`,
    authenticate: () => ANONYMOUS,
    requirePull: async () => undefined,
    requirePullOfAny: async () => undefined,
  };
}
