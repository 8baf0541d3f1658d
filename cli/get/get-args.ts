import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RelayError } from '../../shared/errors.ts';
import { parseImageRef, type ImageRef } from '../../shared/image-ref.ts';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from '../../shared/layer/extract-layer.ts';
import { parsePlatform, type Platform } from '../../shared/platform.ts';
import { parseByteSize } from './byte-size.ts';
import { loadClientSettings } from './client-settings.ts';
import { hostPlatform } from './host-platform.ts';
import type { OutputGuard } from './output-directory.ts';

/** A relay that has not finished a pull in 30 minutes is stuck, not slow, for a deploy script. */
export const DEFAULT_WAIT_SECONDS = 1800;
/** Options whose value may start with a dash (a negative number), which parseArgs takes for a missing value. */
const NUMERIC_OPTIONS: ReadonlySet<string> = new Set(['--timeout', '--max-entries', '--max-bytes']);

/** Parsed `get` arguments. */
export interface GetOptions {
  image: ImageRef;
  imageText: string;
  platform: Platform;
  dir: string;
  via: { kind: 'relay'; url: string } | { kind: 'direct' };
  output: 'json' | 'quiet' | 'human';
  limits: ExtractLimits;
  timeoutMs: number;
  guard: OutputGuard;
}

/** True when the command line asks for --json (before any `--`), read without parsing: for usage errors. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/** The options, or undefined for --help. Throws INVALID_REQUEST (and friends) for usage errors. */
export function parseGetArgs(argv: readonly string[], env: Record<string, string | undefined>, cwd: string): GetOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        platform: { type: 'string', short: 'p' },
        output: { type: 'string', short: 'o' },
        relay: { type: 'string' },
        direct: { type: 'boolean' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        'max-entries': { type: 'string' },
        'max-bytes': { type: 'string' },
        timeout: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new RelayError('INVALID_REQUEST', (err as Error).message.split('\n')[0] ?? 'invalid arguments');
  }
  const { values, positionals } = parsed;
  if (values.help) return undefined;
  if (positionals.length !== 1) throw new RelayError('INVALID_REQUEST', positionals.length === 0 ? 'get needs an IMAGE, e.g. layer-relay get harbor.example.com/team/app:1.0' : `get takes one IMAGE, got ${positionals.length}`);
  const imageText = positionals[0]!;
  const image = parseImageRef(imageText);
  const platform = values.platform === undefined ? hostPlatform() : parsePlatform(values.platform);
  if (values.json && values.quiet) throw new RelayError('INVALID_REQUEST', '--json and --quiet exclude each other (--json prints only the result)');
  if (values.direct && values.relay !== undefined) throw new RelayError('INVALID_REQUEST', '--relay and --direct exclude each other');
  // loadClientSettings takes the environment first and treats an empty value as unset (h2 N5).
  const relayUrl = values.relay ?? loadClientSettings(env, cwd).relayUrl;
  if (!values.direct && !relayUrl) throw new RelayError('INVALID_REQUEST', 'no relay given: use --relay URL (or LAYER_RELAY_URL), or --direct to fetch from HARBOR_URL');
  const maxEntries = values['max-entries'] ?? env.LAYER_RELAY_MAX_ENTRIES;
  const maxBytes = values['max-bytes'] ?? env.LAYER_RELAY_MAX_BYTES;
  const timeout = values.timeout === undefined ? DEFAULT_WAIT_SECONDS : parsePositiveInteger(values.timeout, '--timeout', 'a whole number of seconds above 0');
  return {
    image,
    imageText,
    platform,
    dir: resolve(cwd, values.output ?? image.repository.split('/').at(-1)!),
    via: values.direct ? { kind: 'direct' } : { kind: 'relay', url: relayUrl! },
    output: values.json ? 'json' : values.quiet ? 'quiet' : 'human',
    limits: {
      maxEntries: maxEntries === undefined ? DEFAULT_EXTRACT_LIMITS.maxEntries : parsePositiveInteger(maxEntries, '--max-entries', 'a positive whole number'),
      maxTotalBytes: maxBytes === undefined ? DEFAULT_EXTRACT_LIMITS.maxTotalBytes : parseByteSize(maxBytes, '--max-bytes'),
    },
    timeoutMs: timeout * 1000,
    guard: { cwd: cwd, home: env.HOME, force: values.force === true, repository: `${image.registry}/${image.repository}` },
  };
}

/** Strict: digits only. `Number()` would take 1e3, 0x10 and 1.5 (h2 N4). */
function parsePositiveInteger(text: string, what: string, shape: string): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value <= 0) throw new RelayError('INVALID_REQUEST', `${what}: "${text.slice(0, 40)}" is not ${shape}`);
  return value;
}

/** `--timeout -1` → `--timeout=-1`, so a negative number gets our message, not parseArgs' "ambiguous" (h2 N2). */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') return [...out, ...argv.slice(i)];
    if (NUMERIC_OPTIONS.has(arg) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}
