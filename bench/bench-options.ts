import { parseArgs } from 'node:util';

/** What one `npm run bench` run measures, from its command line. */
export interface BenchOptions {
  /** Layer size of the main image, bytes (the 1 GiB by default). */
  sizeBytes: number;
  /** Also measure a second, larger image for the flat-memory figure (the 4 GiB). */
  bigBytes: number | undefined;
  /** Repetitions of every timing; the median is reported (the machine is shared and noisy). */
  runs: number;
  /** Seconds of the autocannon load run. */
  loadSeconds: number;
  /** Where generated layers are cached across runs, keyed by size. */
  cacheDir: string;
  /** Where JSON results go. */
  resultsDir: string;
  /** Parent of the run's scratch directory (relay store, baseline outputs): one disk for all. */
  workParent: string;
}

/** The layer size: a deliverable big enough that per-chunk costs show. */
export const DEFAULT_SIZE = 1024 ** 3;
/** The large case for `--big`: four times the default, so memory growth shows as a ratio. */
export const DEFAULT_BIG_SIZE = 4 * 1024 ** 3;
/** Three runs give a median that one disturbed run cannot move. */
export const DEFAULT_RUNS = 3;
/** autocannon's own default duration; long enough for a stable p99 at 50 connections. */
export const DEFAULT_LOAD_SECONDS = 10;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** Help text of `npm run bench -- --help`. */
export const USAGE = `npm run bench -- [options]

  --size SIZE      layer size of the main image (default 1GiB); e.g. 64MiB for a one-minute run
  --big [SIZE]     also copy a large image for the peak-RSS ratio (default 4GiB)
  --runs N         repetitions of each timing, median reported (default ${DEFAULT_RUNS})
  --load-seconds N duration of the POST /v1/pulls load run (default ${DEFAULT_LOAD_SECONDS})
  --work-dir DIR   parent of the scratch directory (default: the system temp dir)
  --cache-dir DIR  where generated layers are kept between runs (default bench/.cache)
  -h, --help       this text
SIZE: bytes, or a number with K, M, G (KiB, MiB, GiB).`;

/** Parses `1GiB`, `64M`, `1048576` into bytes; throws on anything else. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new Error(`not a size: "${text}" (want e.g. 64MiB, 1GiB, 1048576)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (bytes < 1024 * 1024) throw new Error(`size ${text} is below 1 MiB: too small to time`);
  return bytes;
}

/** Reads the command line; returns undefined when only help was asked for. */
export function parseBenchOptions(argv: string[], benchDir: string, tmp: string): BenchOptions | undefined {
  // `--big` alone means 4 GiB; `--big 8GiB` names a size. parseArgs has no optional values, so peek.
  const args = [...argv];
  const bigAt = args.indexOf('--big');
  let bigBytes: number | undefined;
  if (bigAt >= 0) {
    const next = args[bigAt + 1];
    const hasValue = next !== undefined && !next.startsWith('-');
    bigBytes = hasValue ? parseSize(next) : DEFAULT_BIG_SIZE;
    args.splice(bigAt, hasValue ? 2 : 1);
  }
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      size: { type: 'string' },
      runs: { type: 'string' },
      'load-seconds': { type: 'string' },
      'work-dir': { type: 'string' },
      'cache-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const runs = Number(values.runs ?? DEFAULT_RUNS);
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`--runs must be 1..20, got ${values.runs}`);
  const loadSeconds = Number(values['load-seconds'] ?? DEFAULT_LOAD_SECONDS);
  if (!Number.isInteger(loadSeconds) || loadSeconds < 1 || loadSeconds > 300) throw new Error(`--load-seconds must be 1..300`);
  return {
    sizeBytes: values.size === undefined ? DEFAULT_SIZE : parseSize(values.size),
    bigBytes,
    runs,
    loadSeconds,
    cacheDir: values['cache-dir'] ?? `${benchDir}/.cache`,
    resultsDir: `${benchDir}/results`,
    workParent: values['work-dir'] ?? tmp,
  };
}
