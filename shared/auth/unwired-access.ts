import { RelayError } from '../errors.ts';
import { RELAY_REALM, type AccessControl } from './access-control.ts';

/**
 * What an app uses when its entry point passed no AccessControl: every protected request fails
 * (500, logged) instead of being let in. Forgetting to wire access control must not open the relay.
 */
export function createUnwiredAccess(): AccessControl {
  const fail = (): never => {
    throw new RelayError('INTERNAL', 'no access control is wired into this app; pass deps.access = createAccessControl(config)');
  };
  return { mode: 'harbor', challenge: `Basic realm="${RELAY_REALM}"`, authenticate: fail, requirePull: async () => fail(), requirePullOfAny: async () => fail() };
}
