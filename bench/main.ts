/**
 * `npm run bench`: issue 7's measuring instrument. Starts the Harbor stand-in and `layer-relay serve`
 * as a child process, pushes a generated single-layer image (1 GiB by default, plus 4 GiB with
 * --big), and measures the relay against the tools it replaces, in the same run on this machine:
 * one line per figure on stdout, progress on stderr, JSON in bench/results/. See README "Benchmarks".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildLayer } from '../infra/local/fixtures/layer-tar.ts';
import { startStandIn } from '../infra/local/harbor-standin.ts';
import type { BenchContext, StagedPayload } from './bench-context.ts';
import { pushBenchImage } from './bench-image.ts';
import { parseBenchOptions, USAGE, type BenchOptions } from './bench-options.ts';
import { uploadBlobStream } from './blob-upload.ts';
import { CleanupStack } from './cleanup-stack.ts';
import { formatBytes, verdict, type Figure } from './figure.ts';
import { measureApiLoad } from './figures/api-load-figure.ts';
import { MAX_PEAK_RSS_BYTES, measureCopy, type CopyResult } from './figures/copy-figure.ts';
import { measureGet } from './figures/get-figure.ts';
import { measureRepeatPull } from './figures/repeat-pull-figure.ts';
import { measureSingleFlight } from './figures/single-flight-figure.ts';
import type { HarborLogin } from './harbor-token.ts';
import { ensurePayloadLayer, openPayloadLayer } from './payload-layer.ts';
import { checkPrerequisites } from './prerequisites.ts';
import { startRelayProcess, tail } from './relay-process.ts';
import { machineState, writeResults } from './results-file.ts';

/** The item 2: peak RSS for 4 GiB within 15 % of the 1 GiB one. */
const MAX_RSS_SPREAD = 0.15;
/** Repository of the cached payload images. */
const PAYLOAD_REPOSITORY = 'team/bench-payload';

const root = fileURLToPath(new URL('..', import.meta.url));
const note = (text: string) => process.stderr.write(`· ${text}\n`);

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = parseBenchOptions(process.argv.slice(2), join(root, 'bench'), tmpdir());
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const prereq = checkPrerequisites();
  const startedAt = new Date().toISOString();
  const machineAtStart = machineState(root);
  const controller = new AbortController();
  const cleanup = new CleanupStack();
  const interrupt = (signal: NodeJS.Signals) => {
    note(`${signal}: stopping everything the bench started`);
    controller.abort();
    void cleanup.run(note).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);

  const figures: Figure[] = [];
  const errors: string[] = [];
  const work = mkdtempSync(join(options.workParent, 'layer-relay-bench-'));
  cleanup.add('remove scratch directory', () => rmSync(work, { recursive: true, force: true }));
  try {
    note(`machine: ${machineAtStart.cpus} CPUs, load ${machineAtStart.loadAverage.join(' ')}, ${formatBytes(machineAtStart.freeMemBytes)} free; scratch ${work}`);
    const sizes = [options.sizeBytes, ...(options.bigBytes === undefined ? [] : [options.bigBytes])];
    const layers = [];
    for (const size of sizes) {
      layers.push(await ensurePayloadLayer(options.cacheDir, size, () => note(`generating a ${formatBytes(size)} tar.gz layer into ${options.cacheDir} (once; cached by size)`)));
    }

    note('starting the Harbor stand-in (docker-registry behind the token front)');
    const standIn = await startStandIn();
    cleanup.add('stop the stand-in', () => standIn.stop());
    const admin: HarborLogin = { url: standIn.url, ...standIn.users.admin };
    const robot: HarborLogin = { url: standIn.url, ...standIn.users.robot };
    const staged: StagedPayload[] = [];
    for (const layer of layers) {
      note(`pushing the ${formatBytes(layer.size)} layer (streamed chunked upload)`);
      await uploadBlobStream(admin, PAYLOAD_REPOSITORY, openPayloadLayer(layer), layer.digest);
      const tag = `size-${layer.fileSize}`;
      const image = await pushBenchImage(admin, PAYLOAD_REPOSITORY, layer, [tag]);
      await pushBenchImage(admin, PAYLOAD_REPOSITORY, layer, [`${tag}-2layer`], [await buildLayer([{ path: 'extra.txt', content: 'second layer\n' }], 'gzip')]);
      staged.push({
        layer,
        image,
        ref: `${standIn.host}/${PAYLOAD_REPOSITORY}:${tag}`,
        pinnedRef: `${standIn.host}/${PAYLOAD_REPOSITORY}@${image.manifestDigest}`,
        twoLayerRef: `${standIn.host}/${PAYLOAD_REPOSITORY}:${tag}-2layer`,
      });
    }

    const storeDir = join(work, 'relay-data');
    const startRelay = async (name: string, dir: string, env?: Record<string, string>) => {
      const relay = await startRelayProcess({ root, standIn, storeDir: dir, logPath: join(work, `${name}.log`), ...(env ? { env } : {}) });
      cleanup.add(`stop ${name}`, () => relay.stop());
      return relay;
    };
    note('starting layer-relay serve (child process)');
    const relay = await startRelay('relay', storeDir);
    const ctx: BenchContext = {
      root, work, options, prereq, standIn, admin, robot, relay, storeDir,
      main: staged[0]!,
      big: staged[1],
      startExtraRelay: startRelay,
      signal: controller.signal,
      note,
    };

    const record = async (name: string, measure: () => Promise<Figure[]>) => {
      try {
        for (const figure of await measure()) {
          figures.push(figure);
          process.stdout.write(`${figure.line}\n`);
        }
      } catch (err) {
        if (controller.signal.aborted) throw err;
        const message = `${name}: ${(err as Error).message}`;
        errors.push(message);
        process.stdout.write(`[!] ${name} could not be measured: ${(err as Error).message}\n`);
        note(`relay log tail:\n${tail(relay.logPath)}`);
      }
    };

    const copies: CopyResult[] = [];
    for (const payload of staged) {
      await record(`copy ${formatBytes(payload.layer.size)}`, async () => {
        const result = await measureCopy(ctx, payload);
        copies.push(result);
        return result.figures;
      });
    }
    if (copies.length === 2) figures.push(rssSpreadFigure(copies[0]!, copies[1]!, staged));
    if (copies.length === 2) process.stdout.write(`${figures[figures.length - 1]!.line}\n`);
    await record('single-flight', () => measureSingleFlight(ctx));
    await record('repeat pull', () => measureRepeatPull(ctx));
    await record('get', () => measureGet(ctx));
    await record('api load', () => measureApiLoad(ctx));
  } finally {
    await cleanup.run(note);
  }

  const results = {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    options: { sizeBytes: options.sizeBytes, bigBytes: options.bigBytes, runs: options.runs, loadSeconds: options.loadSeconds },
    machineAtStart,
    machineAtEnd: machineState(root),
    figures,
    errors,
  };
  const path = writeResults(options.resultsDir, results);
  const failed = figures.filter((figure) => figure.pass === false).length;
  process.stdout.write(`results: ${path} (${figures.length} figures, ${failed} FAIL, ${errors.length} not measured; load ${results.machineAtEnd.loadAverage.join(' ')} on ${results.machineAtEnd.cpus} CPUs)\n`);
  return errors.length > 0 ? 1 : 0;
}

/** Item 2's ratio: the big copy's peak RSS against the main one's. */
function rssSpreadFigure(small: CopyResult, big: CopyResult, staged: StagedPayload[]): Figure {
  const ratio = big.peak.peakBytes / small.peak.peakBytes;
  const pass = Math.abs(ratio - 1) <= MAX_RSS_SPREAD && big.peak.peakBytes <= MAX_PEAK_RSS_BYTES && small.peak.peakBytes <= MAX_PEAK_RSS_BYTES;
  const [a, b] = staged.map((s) => formatBytes(s.layer.size));
  return {
    id: 'rss.spread',
    item: 2,
    target: `both ≤ ${formatBytes(MAX_PEAK_RSS_BYTES)}, within ${MAX_RSS_SPREAD * 100} % of each other`,
    pass,
    line: `[2] peak RSS ${b} / ${a} = ${ratio.toFixed(2)} (${formatBytes(big.peak.peakBytes)} / ${formatBytes(small.peak.peakBytes)}) | target within ${MAX_RSS_SPREAD * 100} %, both ≤ ${formatBytes(MAX_PEAK_RSS_BYTES)}: ${verdict(pass)}`,
    data: { ratio, smallPeakBytes: small.peak.peakBytes, bigPeakBytes: big.peak.peakBytes },
  };
}

try {
  process.exitCode = await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
