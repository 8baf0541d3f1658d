import { readFileSync } from 'node:fs';
import { RelayError } from '../errors.ts';
import type { AuthMode } from './access-control.ts';
import { parseApiTokens, type ApiToken } from './api-tokens.ts';

/** What decides the access mode, computed by loadConfig. */
export interface AccessSettingsInput {
  /** RELAY_AUTH as given, or undefined. */
  requested: AuthMode | undefined;
  /** RELAY_TOKENS (JSON) and RELAY_TOKENS_FILE (a path to the same JSON, for mounted secrets). */
  tokens: string | undefined;
  tokensFile: string | undefined;
  /** HOST, for messages. */
  host: string;
  /** HOST is a loopback address. */
  hostLoopback: boolean;
  /** RELAY_PUBLIC_URL (or its default) names a loopback host: no proxy hands the relay to others. */
  publicLoopback: boolean;
  /** Running in AWS Lambda (AWS_LAMBDA_FUNCTION_NAME is set): API Gateway is reachable from anywhere. */
  lambda: boolean;
  /** The local directory store (the development and single-node mode). */
  fileStore: boolean;
}

/** The access part of RelayConfig. */
export interface AccessSettingsResult {
  auth: AuthMode;
  apiTokens?: ApiToken[];
}

/**
 * Decides RELAY_AUTH. Unset, it is `none` only for local loopback use — the file store, HOST and
 * the public URL both loopback, not in Lambda (so `npm start`, the demo and the tests need no
 * credentials) — and `harbor` everywhere else. A public URL that names another host means a proxy
 * puts the relay on the network even though it listens on loopback, so it counts as reachable.
 * An explicit `none` is refused wherever the relay is reachable from other machines.
 */
export function resolveAccessSettings(input: AccessSettingsInput, problems: string[]): AccessSettingsResult {
  const local = input.hostLoopback && input.publicLoopback && !input.lambda;
  const auth = input.requested ?? (local && input.fileStore ? 'none' : 'harbor');
  if (auth === 'none') {
    if (!input.hostLoopback) problems.push(`RELAY_AUTH=none is refused when listening on ${input.host}: listen on 127.0.0.1 or ::1 only`);
    else if (input.lambda) problems.push('RELAY_AUTH=none is refused in AWS Lambda: API Gateway is reachable from anywhere; use harbor or token');
    else if (!input.publicLoopback) problems.push('RELAY_AUTH=none is refused when RELAY_PUBLIC_URL names a host other machines use: a proxy makes the relay reachable');
  }
  if (input.tokens !== undefined && input.tokensFile !== undefined) problems.push('RELAY_TOKENS and RELAY_TOKENS_FILE: set one, not both');
  const given = input.tokens !== undefined || input.tokensFile !== undefined;
  if (auth !== 'token') {
    if (given) problems.push(`RELAY_TOKENS/RELAY_TOKENS_FILE are set but RELAY_AUTH is ${auth}: set RELAY_AUTH=token to use them`);
    return { auth };
  }
  if (!given) {
    problems.push('RELAY_AUTH=token needs RELAY_TOKENS (JSON) or RELAY_TOKENS_FILE: [{"name": "deploy", "token": "...", "repositories": ["team/*"]}]');
    return { auth };
  }
  try {
    const json = input.tokens ?? readTokensFile(input.tokensFile!);
    return { auth, apiTokens: parseApiTokens(json, input.tokens !== undefined ? 'RELAY_TOKENS' : 'RELAY_TOKENS_FILE') };
  } catch (err) {
    if (!(err instanceof RelayError)) throw err;
    problems.push(err.message);
    return { auth };
  }
}

function readTokensFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new RelayError('CONFIG_INVALID', `RELAY_TOKENS_FILE: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
