import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RelayError, toRelayError, type ErrorCode } from '../../shared/errors.ts';
import { parseImageRef, type ImageRef } from '../../shared/image-ref.ts';
import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits, type ExtractReport } from '../../shared/layer/extract-layer.ts';
import { formatPlatform, parsePlatform, type Platform } from '../../shared/platform.ts';
import { EXIT, type CliIo } from '../cli-io.ts';
import { formatBytes, parseByteSize } from './byte-size.ts';
import { loadClientSettings } from './client-settings.ts';
import { hintFor } from './error-hints.ts';
import { fetchIntoDirectory } from './fetch-into-directory.ts';
import { GET_USAGE } from './get-usage.ts';
import { hostPlatform } from './host-platform.ts';
import { checkOutputDirectory, type OutputGuard } from './output-directory.ts';
import { createProgress, type Progress } from './progress.ts';
import { createRelayApi } from './relay-api.ts';
import { createRelaySource, type GetSource } from './relay-source.ts';
import { skippedLines, terminalText } from './terminal-text.ts';

/** A relay that has not finished a pull in 30 minutes is stuck, not slow, for a deploy script. */
export const DEFAULT_WAIT_SECONDS = 1800;
/** Skipped entries listed in the --json result; `skippedCount` has them all (a layer can hold a million FIFOs). */
const MAX_SKIPPED_IN_JSON = 100;
/** Codes that mean the command line itself was wrong (exit 2). */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['INVALID_REQUEST', 'INVALID_IMAGE_REF', 'INVALID_PLATFORM']);

/** Parsed `get` arguments. */
interface GetOptions {
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

/** `layer-relay get`: returns the exit code (0 done, 1 failed, 2 usage). */
export async function getCommand(argv: string[], io: CliIo): Promise<number> {
  let options: GetOptions | undefined;
  try {
    options = parseGetArgs(argv, io);
    if (options === undefined) {
      io.stdout(GET_USAGE);
      return EXIT.ok;
    }
    const result = await runGet(options, io);
    if (options.output === 'json') io.stdout(`${JSON.stringify(result)}\n`);
    else if (options.output === 'human') io.stdout(`${summary(result)}\n`);
    return EXIT.ok;
  } catch (thrown) {
    if (io.signal.aborted) return interrupted(io, options);
    const err = toRelayError(thrown);
    const usage = USAGE_CODES.has(err.code);
    const message = err.code === 'INTERNAL' ? `internal error: ${(err.cause as Error | undefined)?.message ?? 'unknown'}` : err.message;
    const hint = usage ? 'see: layer-relay get --help' : hintFor(err.code);
    if (options?.output === 'json') {
      io.stdout(`${JSON.stringify({ ok: false, error: { code: err.code, message, ...(hint ? { hint } : {}) } })}\n`);
    } else {
      io.stderr(`layer-relay: ${err.code}: ${oneLine(message)}\n${hint ? `  hint: ${hint}\n` : ''}`);
    }
    return usage ? EXIT.usage : EXIT.failure;
  }
}

/**
 * A signal ended the run: not a failure of the download, so no error code or hint, and the shell's
 * 128 + signal exit code (130 for Ctrl-C) that scripts and systemd expect (h2 N6).
 */
function interrupted(io: CliIo, options: GetOptions | undefined): number {
  const signal = io.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT';
  const message = `interrupted (${signal}); the output directory was not changed`;
  if (options?.output === 'json') io.stdout(`${JSON.stringify({ ok: false, error: { code: 'INTERRUPTED', message } })}\n`);
  else io.stderr(`layer-relay: ${message}\n`);
  return EXIT[signal];
}

/** The options, or undefined for --help. Throws INVALID_REQUEST (and friends) for usage errors. */
function parseGetArgs(argv: string[], io: CliIo): GetOptions | undefined {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
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
  const relayUrl = values.relay ?? io.env.LAYER_RELAY_URL ?? loadClientSettings(io.env, io.cwd).relayUrl;
  if (!values.direct && !relayUrl) throw new RelayError('INVALID_REQUEST', 'no relay given: use --relay URL (or LAYER_RELAY_URL), or --direct to fetch from HARBOR_URL');
  const maxEntries = values['max-entries'] ?? io.env.LAYER_RELAY_MAX_ENTRIES;
  const maxBytes = values['max-bytes'] ?? io.env.LAYER_RELAY_MAX_BYTES;
  const timeout = values.timeout === undefined ? DEFAULT_WAIT_SECONDS : Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) throw new RelayError('INVALID_REQUEST', `--timeout: "${values.timeout}" is not a number of seconds`);
  return {
    image,
    imageText,
    platform,
    dir: resolve(io.cwd, values.output ?? image.repository.split('/').at(-1)!),
    via: values.direct ? { kind: 'direct' } : { kind: 'relay', url: relayUrl! },
    output: values.json ? 'json' : values.quiet ? 'quiet' : 'human',
    limits: {
      maxEntries: maxEntries === undefined ? DEFAULT_EXTRACT_LIMITS.maxEntries : parseCount(maxEntries),
      maxTotalBytes: maxBytes === undefined ? DEFAULT_EXTRACT_LIMITS.maxTotalBytes : parseByteSize(maxBytes, '--max-bytes'),
    },
    timeoutMs: timeout * 1000,
    guard: { cwd: io.cwd, home: io.env.HOME, force: values.force === true },
  };
}

/** The JSON result (`--json`) and what the summary line says. */
interface GetResult {
  ok: true;
  image: string;
  platform: string;
  via: 'relay' | 'direct';
  pullId?: string;
  manifestDigest: string;
  output: string;
  layers: { digest: string; size: number; mediaType: string }[];
  files: number;
  directories: number;
  symlinks: number;
  hardlinks: number;
  removed: number;
  /** The first MAX_SKIPPED_IN_JSON skipped entries, names escaped (terminal-text.ts). */
  skipped: { path: string; reason: string }[];
  skippedCount: number;
}

async function runGet(options: GetOptions, io: CliIo): Promise<GetResult> {
  const progress = createProgress(options.output === 'human' ? (io.isTTY ? 'tty' : 'plain') : 'silent', io.stderr);
  const platformText = formatPlatform(options.platform);
  await checkOutputDirectory(options.dir, options.guard); // before asking anyone for anything
  const settings = loadClientSettings(io.env, io.cwd);
  const source: GetSource =
    options.via.kind === 'direct'
      ? // Loaded only for --direct: the registry client doubles the CLI's start-up time (~0.4 s).
        (await import('./direct-source.ts')).createDirectSource({ settings, ref: options.image, platform: options.platform })
      : createRelaySource({
          api: createRelayApi({ baseUrl: options.via.url, credentials: settings.relayCredentials, token: settings.relayToken, signal: io.signal }),
          image: options.imageText,
          platform: platformText,
          timeoutMs: options.timeoutMs,
          observer: relayObserver(progress),
          signal: io.signal,
        });
  try {
    progress.line(`${options.imageText} for ${platformText} ${options.via.kind === 'direct' ? 'from Harbor (--direct)' : `through ${options.via.url}`}`);
    const resolved = await source.resolve();
    const total = resolved.layers.reduce((sum, layer) => sum + layer.size, 0);
    const before = resolved.layers.map((_, index) => resolved.layers.slice(0, index).reduce((sum, layer) => sum + layer.size, 0));
    const count = resolved.layers.length;
    const reports = await fetchIntoDirectory({
      layers: resolved.layers,
      dir: options.dir,
      guard: options.guard,
      marker: { image: options.imageText, platform: platformText, manifestDigest: resolved.manifestDigest },
      limits: options.limits,
      signal: io.signal,
      openLayer: (layer, index) =>
        source.openLayer(layer, (offset, attempt) => progress.line(`layer ${index + 1}/${count}: connection dropped, resuming at ${formatBytes(offset)} (attempt ${attempt})`)),
      onBytes: (index, bytes) => progress.bytes(`layer ${index + 1}/${count}`, before[index]! + bytes, total),
      restarts: source.restarts,
      onRestart: (index, restart, error) => progress.line(`layer ${index + 1}/${count}: ${oneLine(error.message)}; starting the image again from zero (restart ${restart} of ${source.restarts})`),
      onLayerDone: (index, report) => {
        const layer = resolved.layers[index]!;
        progress.line(`layer ${index + 1}/${count} ${layer.digest.slice(0, 19)}… ${formatBytes(layer.size)}: digest verified, ${plural(report.files.length, 'file')} extracted`);
        for (const line of skippedLines(report.skipped)) progress.line(line);
      },
    });
    progress.end();
    return result(options, resolved, reports, platformText);
  } finally {
    progress.end();
    await source.close();
  }
}

function relayObserver(progress: Progress): { state: (record: { id: string; state: string; bytesDone?: number; bytesTotal?: number }) => void } {
  let last = '';
  return {
    state(record) {
      if (record.state !== last) progress.line(`pull ${record.id}: ${record.state}`);
      last = record.state;
      if (record.state === 'running' && record.bytesTotal) progress.bytes('relay copying from Harbor', record.bytesDone ?? 0, record.bytesTotal);
    },
  };
}

function result(options: GetOptions, resolved: { manifestDigest: string; layers: GetResult['layers']; pullId?: string }, reports: ExtractReport[], platform: string): GetResult {
  const sum = (pick: (report: ExtractReport) => unknown[]) => reports.reduce((n, report) => n + pick(report).length, 0);
  return {
    ok: true,
    image: options.imageText,
    platform,
    via: options.via.kind,
    ...(resolved.pullId ? { pullId: resolved.pullId } : {}),
    manifestDigest: resolved.manifestDigest,
    output: options.dir,
    layers: resolved.layers,
    files: sum((r) => r.files) + sum((r) => r.hardlinks),
    directories: sum((r) => r.directories),
    symlinks: sum((r) => r.symlinks),
    hardlinks: sum((r) => r.hardlinks),
    removed: sum((r) => r.removed),
    skipped: reports
      .flatMap((r) => r.skipped.slice(0, MAX_SKIPPED_IN_JSON))
      .slice(0, MAX_SKIPPED_IN_JSON)
      .map((entry) => ({ path: terminalText(entry.path), reason: terminalText(entry.reason) })),
    skippedCount: sum((r) => r.skipped),
  };
}

function summary(result: GetResult): string {
  const layers = result.layers.length === 1 ? '1 layer' : `${result.layers.length} layers`;
  return `${result.image} (${result.platform}, ${layers}, ${result.manifestDigest.slice(0, 19)}…) → ${result.output}: ${plural(result.files, 'file')}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function parseCount(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new RelayError('INVALID_REQUEST', `--max-entries: "${text.slice(0, 40)}" is not a positive whole number`);
  return value;
}

/** Errors are one line: a hostile server's or layer's message must not add lines to a deploy log. */
function oneLine(text: string): string {
  return terminalText(text, 500);
}
