import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RelayError } from '../../shared/errors.ts';

/** Where `get` finds the relay and Harbor, and as whom. Never from argv: argv is visible in `ps`. */
export interface ClientSettings {
  relayUrl?: string;
  relayCredentials?: { username: string; password: string };
  /** A static API token for a relay with RELAY_AUTH=token; sent as Bearer, preferred over Basic. */
  relayToken?: string;
  harborUrl?: string;
  harborCredentials?: { username: string; password: string };
}

/** Keys a credentials file may set; the environment overrides each. */
const KEYS = ['LAYER_RELAY_URL', 'LAYER_RELAY_USERNAME', 'LAYER_RELAY_PASSWORD', 'LAYER_RELAY_TOKEN', 'HARBOR_URL', 'HARBOR_USERNAME', 'HARBOR_PASSWORD'] as const;
type Key = (typeof KEYS)[number];

/** The file read when LAYER_RELAY_CREDENTIALS is not set (XDG base directory spec). */
export function defaultCredentialsFile(env: Record<string, string | undefined>): string | undefined {
  const base = env.XDG_CONFIG_HOME || (env.HOME ? join(env.HOME, '.config') : undefined);
  return base === undefined ? undefined : join(base, 'layer-relay', 'credentials');
}

/**
 * Reads settings from the environment and a credentials file of `KEY=value` lines (the shape of a
 * systemd EnvironmentFile; `#` comments; values may be quoted, so robot names with `$` need no
 * shell escaping). The file is LAYER_RELAY_CREDENTIALS or ~/.config/layer-relay/credentials; like
 * ssh with its keys, a file that holds a password must not be readable by group or others.
 */
export function loadClientSettings(env: Record<string, string | undefined>, cwd: string): ClientSettings {
  const explicit = env.LAYER_RELAY_CREDENTIALS;
  const file = explicit ? resolve(cwd, explicit) : defaultCredentialsFile(env);
  const fromFile = file === undefined ? {} : readCredentialsFile(file, explicit !== undefined);
  const get = (key: Key) => (env[key] !== undefined && env[key] !== '' ? env[key] : fromFile[key]);
  const pair = (user: Key, password: Key) => {
    const username = get(user);
    const secret = get(password);
    if ((username === undefined) !== (secret === undefined)) throw new RelayError('CONFIG_INVALID', `${user} and ${password}: set both, or neither`);
    return username === undefined || secret === undefined ? undefined : { username, password: secret };
  };
  const relayCredentials = pair('LAYER_RELAY_USERNAME', 'LAYER_RELAY_PASSWORD');
  const harborCredentials = pair('HARBOR_USERNAME', 'HARBOR_PASSWORD');
  const relayUrl = get('LAYER_RELAY_URL');
  const relayToken = get('LAYER_RELAY_TOKEN');
  const harborUrl = get('HARBOR_URL');
  return {
    ...(relayUrl ? { relayUrl } : {}),
    ...(relayCredentials ? { relayCredentials } : {}),
    ...(relayToken ? { relayToken } : {}),
    ...(harborUrl ? { harborUrl } : {}),
    ...(harborCredentials ? { harborCredentials } : {}),
  };
}

function readCredentialsFile(file: string, required: boolean): Partial<Record<Key, string>> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (!required && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RelayError('CONFIG_INVALID', `cannot read the credentials file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const values: Partial<Record<Key, string>> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Z_]+)\s*=\s*(.*)$/.exec(line);
    const key = match?.[1] as Key | undefined;
    if (!match || key === undefined || !KEYS.includes(key)) {
      throw new RelayError('CONFIG_INVALID', `${file} line ${index + 1}: expected one of ${KEYS.join(', ')} as KEY=value`);
    }
    values[key] = unquote(match[2]!);
  });
  if ((values.HARBOR_PASSWORD || values.LAYER_RELAY_PASSWORD || values.LAYER_RELAY_TOKEN) && process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0) {
    throw new RelayError('CONFIG_INVALID', `${file} holds a password and is readable by others; run: chmod 600 ${file}`);
  }
  return values;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}
