import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchContext } from '../bench-context.ts';
import { formatMs, verdict, type Figure } from '../figure.ts';
import { summarize } from '../samples.ts';
import { runBash, runTimed } from '../timed-command.ts';

/** The target for item 5. */
export const MAX_GET_RATIO = 1.2;

/**
 * Item 5: `layer-relay get IMAGE --relay URL --output DIR` of the stored main image vs
 * `curl -s SIGNED_URL | tar -xzf - -C DIR`, interleaved, `runs` rounds; plus the object server's
 * plain download rate (`curl -s SIGNED_URL -o /dev/null`) as a reference. `get` is being written
 * (issue 6): when `layer-relay get --help` does not exit 0 the figure is recorded as null.
 */
export async function measureGet(ctx: BenchContext): Promise<Figure[]> {
  const { layer } = ctx.main;
  const cli = join(ctx.root, 'cli/main.ts');
  const available = spawnSync(process.execPath, [cli, 'get', '--help'], { cwd: ctx.root, stdio: 'ignore', timeout: 30_000 }).status === 0;
  // GET /v1/blobs/:digest signs a URL without starting a pull (a pull by tag would redo its work).
  const signedUrl = async () => {
    const response = await fetch(`${ctx.relay.url}/v1/blobs/${layer.digest}`);
    const body = (await response.json()) as { url?: string };
    if (!response.ok || !body.url) throw new Error(`GET /v1/blobs/${layer.digest} answered ${response.status}`);
    return body.url;
  };
  const outDir = (name: string) => join(ctx.work, `extract-${name}`);
  const checkExtracted = (dir: string) => {
    const size = statSync(join(dir, layer.fileName)).size;
    if (size !== layer.fileSize) throw new Error(`${dir}/${layer.fileName} has ${size} bytes, not ${layer.fileSize}`);
  };

  const curlTar: number[] = [];
  const get: number[] = [];
  const download: number[] = [];
  const getErrors: string[] = [];
  for (let round = 0; round < ctx.options.runs; round++) {
    ctx.note(`get: round ${round + 1}/${ctx.options.runs}${available ? '' : ' (layer-relay get not available: baseline only)'}`);
    const url = await signedUrl(); // fetched outside the timing: the script would have it from a pull too
    download.push((await runBash('curl -s "$URL" -o /dev/null', { env: { URL: url }, signal: ctx.signal })).ms);

    const baselineDir = outDir(`curl-${round}`);
    rmSync(baselineDir, { recursive: true, force: true });
    const run = await runBash('mkdir -p "$OUT" && curl -s "$URL" | tar -xzf - -C "$OUT"', { env: { URL: url, OUT: baselineDir }, signal: ctx.signal });
    checkExtracted(baselineDir);
    curlTar.push(run.ms);
    rmSync(baselineDir, { recursive: true, force: true });

    if (!available) continue;
    const getDir = outDir(`get-${round}`);
    rmSync(getDir, { recursive: true, force: true });
    try {
      const timed = await runTimed(process.execPath, [cli, 'get', ctx.main.ref, '--platform', 'linux/amd64', '--relay', ctx.relay.url, '--output', getDir, '--quiet'], {
        cwd: ctx.root,
        signal: ctx.signal,
      });
      checkExtracted(getDir);
      get.push(timed.ms);
    } catch (err) {
      getErrors.push((err as Error).message.slice(0, 500));
    } finally {
      rmSync(getDir, { recursive: true, force: true });
    }
  }

  const d = summarize(download);
  const rate = (layer.size / 1024 ** 2) / (d.median / 1000);
  const c = summarize(curlTar);
  const g = get.length > 0 ? summarize(get) : undefined;
  const ratio = g ? g.median / c.median : null;
  // Not there yet → null; there but failing → FAIL.
  const pass = !available ? null : ratio !== null && ratio <= MAX_GET_RATIO;
  const getLine = !available
    ? `get: not available yet (curl|tar ${formatMs(c.median)})`
    : g
      ? `layer-relay get (by tag) ${formatMs(g.median)} vs curl|tar ${formatMs(c.median)} = ${ratio!.toFixed(2)}×`
      : `layer-relay get FAILED (${getErrors[0]}); curl|tar ${formatMs(c.median)}`;
  return [
    {
      id: 'get',
      item: 5,
      target: `get ≤ ${MAX_GET_RATIO}× curl|tar`,
      pass,
      line: `[5] ${getLine} | target ≤ ${MAX_GET_RATIO}×: ${available ? verdict(pass) : 'not measured'}`,
      data: { available, getMs: g ?? null, curlTarMs: c, ratio, errors: getErrors },
    },
    {
      id: 'object-download',
      item: 5,
      pass: null,
      line: `[5] relay object server: curl -s SIGNED_URL -o /dev/null ${formatMs(d.median)} = ${rate.toFixed(0)} MiB/s | reference, no target`,
      data: { layerBytes: layer.size, ms: d, mibPerSecond: rate },
    },
  ];
}
