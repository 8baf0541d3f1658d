import type { BenchContext } from '../bench-context.ts';
import { formatMs, verdict, type Figure } from '../figure.ts';
import { pullAndWait } from '../pull-client.ts';
import { summarize } from '../samples.ts';

/** The target for item 4: a stored image is answered locally, fast. */
export const MAX_REPEAT_MS = 100;
const PULL_TIMEOUT_MS = 60_000;

/**
 * Item 4: pulls of the image item 1 left stored, `runs` times each by tag (queued → the worker
 * resolves the manifest, finds the layer stored → done) and pinned by digest (the api answers 200
 * with the finished record). Counts the registry's blob GETs during them (target 0) and times
 * POST → `done` (target < 100 ms).
 */
export async function measureRepeatPull(ctx: BenchContext): Promise<Figure[]> {
  const { layer } = ctx.main;
  const figures: Figure[] = [];
  for (const [key, ref, how] of [
    ['tag', ctx.main.ref, 'by tag (worker resolves, layer found stored)'],
    ['digest', ctx.main.pinnedRef, 'pinned by digest (api answers from the record)'],
  ] as const) {
    ctx.note(`repeat pull ${how}`);
    const before = ctx.standIn.blobGets(layer.digest);
    const times: number[] = [];
    const statuses: number[] = [];
    // One untimed pull first: a digest ref becomes answerable from the api once one pull of it is done.
    await pullAndWait(ctx.relay.url, ref, PULL_TIMEOUT_MS);
    for (let i = 0; i < ctx.options.runs; i++) {
      const pulled = await pullAndWait(ctx.relay.url, ref, PULL_TIMEOUT_MS);
      times.push(pulled.ms);
      statuses.push(pulled.status);
    }
    const gets = ctx.standIn.blobGets(layer.digest) - before;
    const t = summarize(times);
    const pass = gets === 0 && t.median < MAX_REPEAT_MS;
    figures.push({
      id: `repeat-pull.${key}`,
      item: 4,
      target: `0 blob GETs, done in < ${MAX_REPEAT_MS} ms`,
      pass,
      line: `[4] repeat pull of a stored image ${how}: ${gets} registry blob GETs, POST → done ${formatMs(t.median)} (HTTP ${[...new Set(statuses)].join('/')}) | target 0 GETs, < ${MAX_REPEAT_MS} ms: ${verdict(pass)}`,
      data: { blobGets: gets, ms: t, statuses },
    });
  }
  return figures;
}
