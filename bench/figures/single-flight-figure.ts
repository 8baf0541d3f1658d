import type { BenchContext } from '../bench-context.ts';
import { formatBytes, verdict, type Figure } from '../figure.ts';
import { pushFreshImage } from '../fresh-image.ts';
import { postPull, waitForPull } from '../pull-client.ts';
import type { RelayProcess } from '../relay-process.ts';

/** The deploy wave: 50 hosts asking at once. */
export const CONCURRENT_PULLS = 50;
/** Distinct tags of one content in the spread variants: ten pulls race inside the worker. */
const TAGS = 10;
const PULL_TIMEOUT_MS = 300_000;

/**
 * Item 3, three ways, each on a fresh image (never copied) and each expecting the registry to serve
 * the layer exactly once:
 *  a) 50 identical POSTs to one relay (the api's dedupe of active pulls);
 *  b) 50 POSTs spread over 10 tags of the same content (ten pulls: single-flight in the worker);
 *  c) as b, alternating between two relay processes that share store and queue (two workers:
 *     single-flight across workers, which the issue asks of the store or queue).
 */
export async function measureSingleFlight(ctx: BenchContext): Promise<Figure[]> {
  const variants = [
    { key: 'identical', label: '50 identical pulls, 1 relay', tags: ['v1'], processes: 1 },
    { key: 'tags', label: `50 pulls over ${TAGS} tags of one content, 1 relay`, tags: tagList(), processes: 1 },
    { key: 'workers', label: `50 pulls over ${TAGS} tags, 2 relay processes sharing store+queue`, tags: tagList(), processes: 2 },
  ];
  const figures: Figure[] = [];
  for (const variant of variants) {
    ctx.note(`single-flight: ${variant.label}`);
    // The second process only lives for its variant: its worker must not take later figures' jobs.
    const relays = variant.processes === 2 ? [ctx.relay, await ctx.startExtraRelay('relay-b', ctx.storeDir)] : [ctx.relay];
    try {
      figures.push(await measureVariant(ctx, variant, relays, figures.length));
    } finally {
      for (const relay of relays.slice(1)) await relay.stop();
    }
  }
  return figures;
}

async function measureVariant(ctx: BenchContext, variant: { key: string; label: string; tags: string[] }, relays: RelayProcess[], index: number): Promise<Figure> {
  const { image, refs } = await pushFreshImage(ctx, variant.key, variant.tags);
  const posted = await Promise.all(
    Array.from({ length: CONCURRENT_PULLS }, (_, i) => postPull(relays[i % relays.length]!.url, refs[i % refs.length]!)),
  );
  const ids = [...new Set(posted.map((p) => p.record.id))];
  await Promise.all(ids.map((id) => waitForPull(ctx.relay.url, id, PULL_TIMEOUT_MS)));
  const layerGets = ctx.standIn.blobGets(image.layer.digest);
  const pass = layerGets === 1;
  return {
    id: `single-flight.${variant.key}`,
    item: 3,
    target: 'registry serves the layer exactly once',
    pass,
    line: `[3${'abc'[index]}] ${variant.label} (fresh ${formatBytes(image.layer.size)} layer): registry served the layer ${layerGets}× (${ids.length} pull record${ids.length === 1 ? '' : 's'}) | target exactly 1: ${verdict(pass)}`,
    data: { layerBytes: image.layer.size, layerGets, pullRecords: ids.length, relays: relays.length, tags: variant.tags.length },
  };
}

function tagList(): string[] {
  return Array.from({ length: TAGS }, (_, i) => `v${i + 1}`);
}
