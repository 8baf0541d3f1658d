import type { Dispatcher } from 'undici';
import type { Logger } from '../log.ts';
import type { AccessControl, AuthMode } from './access-control.ts';
import type { ApiToken } from './api-tokens.ts';
import { createHarborAccess } from './harbor-access.ts';
import { createOpenAccess } from './open-access.ts';
import { createTokenAccess } from './token-access.ts';

/** The parts of RelayConfig access control needs (structural, so handlers can pass the whole config). */
export interface AccessSettings {
  auth: AuthMode;
  apiTokens?: readonly ApiToken[] | undefined;
  harbor: { url: URL };
}

/** The AccessControl for the configured RELAY_AUTH mode: the one call every entry point makes. */
export function createAccessControl(settings: AccessSettings, options: { log?: Logger; dispatcher?: Dispatcher } = {}): AccessControl {
  switch (settings.auth) {
    case 'none':
      return createOpenAccess();
    case 'token':
      return createTokenAccess(settings.apiTokens ?? []);
    case 'harbor':
      return createHarborAccess({ harborUrl: settings.harbor.url, ...options });
  }
}
