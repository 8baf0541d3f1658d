import { toRelayError, type ErrorCode } from '../../shared/errors.ts';
import type { ExtractReport } from '../../shared/layer/extract-layer.ts';
import { formatPlatform } from '../../shared/platform.ts';
import { EXIT, type CliIo } from '../cli-io.ts';
import { formatBytes } from './byte-size.ts';
import { loadClientSettings } from './client-settings.ts';
import { hintFor } from './error-hints.ts';
import { fetchIntoDirectory } from './fetch-into-directory.ts';
import { parseGetArgs, wantsJson, type GetOptions } from './get-args.ts';
import { GET_USAGE } from './get-usage.ts';
import { checkOutputDirectory } from './output-directory.ts';
import { createProgress, type Progress } from './progress.ts';
import { createRelayApi } from './relay-api.ts';
import { createRelaySource, type GetSource } from './relay-source.ts';
import { printableText } from '../../shared/printable-text.ts';
import { skippedLines } from './terminal-text.ts';

/** Skipped entries listed in the --json result; `skippedCount` has them all (a layer can hold a million FIFOs). */
const MAX_SKIPPED_IN_JSON = 100;
/** Codes that mean the command line itself was wrong (exit 2). */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['INVALID_REQUEST', 'INVALID_IMAGE_REF', 'INVALID_PLATFORM']);

/** `layer-relay get`: returns the exit code (0 done, 1 failed, 2 usage). */
export async function getCommand(argv: string[], io: CliIo): Promise<number> {
  let options: GetOptions | undefined;
  try {
    options = parseGetArgs(argv, io.env, io.cwd);
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
    // A usage error comes before there are options: --json on the command line still asks for JSON (h2 N1).
    if (options ? options.output === 'json' : wantsJson(argv)) {
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
        source.openLayer(
          layer,
          (offset, attempt) => progress.line(`layer ${index + 1}/${count}: connection dropped, resuming at ${formatBytes(offset)} (attempt ${attempt})`),
          () => progress.line(`layer ${index + 1}/${count}: signed URL expired, fetching a new one`),
        ),
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
      // The relay's answer is printed through the same escape as layer names: it is text from another machine.
      if (record.state !== last) progress.line(`pull ${printableText(record.id, 80)}: ${printableText(record.state, 40)}`);
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
      .map((entry) => ({ path: printableText(entry.path), reason: printableText(entry.reason) })),
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

/** Errors are one line: a hostile server's or layer's message must not add lines to a deploy log. */
function oneLine(text: string): string {
  return printableText(text, 500);
}
