import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext, StagedPayload } from '../bench-context.ts';
import { formatBytes, formatMs, verdict, type Figure } from '../figure.ts';
import { fetchHarborToken } from '../harbor-token.ts';
import { pullAndWait } from '../pull-client.ts';
import { startRssMonitor, type RssPeak } from '../rss-monitor.ts';
import { summarize } from '../samples.ts';
import { runBash, runTimed } from '../timed-command.ts';

/** The targets for item 1. */
const MAX_RATIO = 1.25;
const AIM_RATIO = 1.1;
/** Item 2: peak RSS of the relay during a copy. */
export const MAX_PEAK_RSS_BYTES = 256 * 1024 ** 2;
/** A copy slower than 4 MiB/s on a loopback registry means something is stuck (the timeout's basis). */
const MIN_BYTES_PER_MS = (4 * 1024 ** 2) / 1000;

/** One copy measurement set for one image size. */
export interface CopyResult {
  figures: Figure[];
  relayMs: number;
  peak: RssPeak;
}

/**
 * Items 1 and 2 for one image: `runs` rounds, each timing — in a rotating order so no tool always
 * goes first — the baseline `curl | tee | openssl dgst`, the relay (POST /v1/pulls → done, the stored
 * object removed before each round so every round copies), the relay on a 2-layer image of the same
 * layer (diagnostic: no files step), and skopeo when installed. The relay's peak RSS is measured over
 * each of its copies of the single-layer image.
 */
export async function measureCopy(ctx: BenchContext, staged: StagedPayload): Promise<CopyResult> {
  const { layer, image } = staged;
  const label = formatBytes(layer.size);
  const blobUrl = `${ctx.standIn.url}/v2/${image.repository}/blobs/${layer.digest}`;
  const hex = layer.digest.slice('sha256:'.length);
  const baselineFile = join(ctx.work, 'baseline.blob');
  const skopeoDir = join(ctx.work, 'skopeo-dir');
  const timeoutMs = Math.max(120_000, layer.size / MIN_BYTES_PER_MS);
  const baseline: number[] = [];
  const fsync: number[] = [];
  const relay: number[] = [];
  const skopeo: number[] = [];
  const peaks: RssPeak[] = [];
  const relayNoFiles: number[] = [];
  const noFilesPeaks: RssPeak[] = [];

  /** One timed relay copy of `ref` (its layer removed from the store first), peak RSS into `into`. */
  const relayCopy = async (ref: string, into: RssPeak[]): Promise<number> => {
    removeStored(ctx.storeDir, hex);
    const getsBefore = ctx.standIn.blobGets(layer.digest);
    const monitor = startRssMonitor(ctx.relay.pid);
    let pulled;
    try {
      pulled = await pullAndWait(ctx.relay.url, ref, timeoutMs);
    } finally {
      into.push(monitor.stop());
    }
    const gets = ctx.standIn.blobGets(layer.digest) - getsBefore;
    if (gets < 1) throw new Error(`the relay answered ${ref} without fetching the blob (removed from its store): the timing would not be a copy`);
    if (pulled.record.layers[0]?.digest !== layer.digest) throw new Error(`the relay's pull lists ${pulled.record.layers[0]?.digest}, not ${layer.digest}`);
    return pulled.ms;
  };

  const tools: Record<string, () => Promise<void>> = {
    baseline: async () => {
      rmSync(baselineFile, { force: true });
      // The token is fetched as the seed script does, outside the timing (the relay caches its own).
      const token = await fetchHarborToken(ctx.robot, image.repository, 'pull');
      const run = await runBash('curl -s "$BLOB_URL" -H "Authorization: Bearer $TOKEN" | tee "$OUT" | openssl dgst -sha256', {
        env: { BLOB_URL: blobUrl, TOKEN: token, OUT: baselineFile },
        signal: ctx.signal,
      });
      if (!run.stdout.includes(hex)) throw new Error(`baseline hashed to ${run.stdout.trim()}, not ${layer.digest}`);
      baseline.push(run.ms);
      // What the relay pays on top for durability (it fsyncs before the rename): the same bytes, synced.
      fsync.push((await runTimed('sync', [baselineFile], { signal: ctx.signal })).ms);
      rmSync(baselineFile, { force: true });
    },
    relay: async () => {
      relay.push(await relayCopy(staged.ref, peaks));
    },
    relayNoFiles: async () => {
      relayNoFiles.push(await relayCopy(staged.twoLayerRef, noFilesPeaks));
    },
    ...(ctx.prereq.skopeo
      ? {
          skopeo: async () => {
            rmSync(skopeoDir, { recursive: true, force: true });
            const { username, password } = ctx.robot;
            const run = await runTimed(
              'skopeo',
              ['--insecure-policy', 'copy', '--quiet', '--src-tls-verify=false', '--src-creds', `${username}:${password}`, `docker://${staged.ref}`, `dir:${skopeoDir}`],
              { signal: ctx.signal, env: { TMPDIR: ctx.work } },
            );
            skopeo.push(run.ms);
            rmSync(skopeoDir, { recursive: true, force: true });
          },
        }
      : {}),
  };

  // One untimed relay copy first: the first copy in a process's life pays for JIT compilation and
  // for growing the heap to its working size (measured: peak RSS 171 MiB on a fresh relay, 205–215
  // MiB from the second copy on, whatever the layer size). A server lives warmed up, and both sizes
  // must be measured in the same state, or the RSS ratio shows process age rather than layer size.
  ctx.note(`copy ${label}: warm-up (untimed)`);
  await relayCopy(staged.ref, []);
  const names = Object.keys(tools);
  for (let round = 0; round < ctx.options.runs; round++) {
    const order = names.map((_, i) => names[(i + round) % names.length]!);
    ctx.note(`copy ${label}: round ${round + 1}/${ctx.options.runs} (${order.join(', ')})`);
    for (const name of order) await tools[name]!();
  }
  // Leave the object stored: item 4 repeats the pull of a stored image.
  const b = summarize(baseline);
  const f = summarize(fsync);
  const r = summarize(relay);
  const s = skopeo.length > 0 ? summarize(skopeo) : undefined;
  const n = summarize(relayNoFiles);
  const ratio = r.median / b.median;
  const rate = (ms: number) => `${((layer.size / 1024 ** 2) / (ms / 1000)).toFixed(0)} MiB/s`;
  const copyPass = ratio <= MAX_RATIO && (s === undefined || r.median < s.median);
  const copy: Figure = {
    id: `copy.${layer.size}`,
    item: 1,
    target: `relay ≤ ${MAX_RATIO}× baseline (aim ≤ ${AIM_RATIO}×), faster than skopeo`,
    pass: copyPass,
    line:
      `[1] copy ${label}: relay ${formatMs(r.median)} (${rate(r.median)}) vs curl|tee|openssl ${formatMs(b.median)} (${rate(b.median)}) = ${ratio.toFixed(2)}×` +
      (s ? `; skopeo ${formatMs(s.median)} = relay ${(r.median / s.median).toFixed(2)}× skopeo` : '; skopeo: not installed') +
      `; baseline+fsync ${formatMs(b.median + f.median)} | target ≤ ${MAX_RATIO}× (aim ${AIM_RATIO}×), < skopeo: ${verdict(copyPass)}`,
    data: {
      layerBytes: layer.size,
      relayMs: r,
      baselineMs: b,
      baselineFsyncMs: f,
      skopeoMs: s ?? null,
      ratio,
      ratioWithFsync: r.median / (b.median + f.median),
      skopeoRatio: s ? r.median / s.median : null,
    },
  };
  const noFiles: Figure = {
    id: `copy-no-files.${layer.size}`,
    item: 1,
    pass: null,
    line: `[1] diagnostic: the same ${label} layer in a 2-layer image (no files step): relay ${formatMs(n.median)} (${rate(n.median)}) = ${(n.median / b.median).toFixed(2)}× baseline | isolates the blob path, no target`,
    data: { layerBytes: layer.size, relayMs: n, ratio: n.median / b.median, peakBytes: Math.max(...noFilesPeaks.map((p) => p.peakBytes)) },
  };
  const peak = peaks.reduce((max, p) => (p.peakBytes > max.peakBytes ? p : max));
  const rssPass = peak.peakBytes <= MAX_PEAK_RSS_BYTES;
  const rss: Figure = {
    id: `rss.${layer.size}`,
    item: 2,
    target: `≤ ${formatBytes(MAX_PEAK_RSS_BYTES)}`,
    pass: rssPass,
    line: `[2] peak RSS of the relay copying ${label}: ${formatBytes(peak.peakBytes)} (idle ${formatBytes(peak.startBytes)}; ${peak.hwmBytes === undefined ? 'sampled, VmHWM reset refused' : 'VmHWM'}) | target ≤ ${formatBytes(MAX_PEAK_RSS_BYTES)}: ${verdict(rssPass)}`,
    data: { layerBytes: layer.size, peakBytes: peak.peakBytes, perRun: peaks },
  };
  return { figures: [copy, noFiles, rss], relayMs: r.median, peak };
}

/** Removes a stored blob and any files unpacked from layers (issue 6), so the next pull copies again. */
function removeStored(storeDir: string, hex: string): void {
  rmSync(join(storeDir, 'blobs', 'sha256', hex), { force: true });
  rmSync(join(storeDir, 'files'), { recursive: true, force: true });
}
