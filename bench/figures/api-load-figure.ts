import type { BenchContext } from '../bench-context.ts';
import { formatMs, type Figure } from '../figure.ts';
import { pullAndWait } from '../pull-client.ts';
import { runTimed } from '../timed-command.ts';

/** The load shape for item 6. */
export const LOAD_CONNECTIONS = 50;

/** The part of autocannon's `--json` report we read. */
interface AutocannonReport {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

/**
 * Item 6: autocannon (its own process, so the load generator does not share an event loop with
 * anything measured) with 50 connections for `loadSeconds` against POST /v1/pulls for the main image
 * pinned by digest, already done: every request takes the api's full path (validate, look for an
 * active pull, find the done record, stat the layer, sign its URL) and no worker runs, so the figure
 * is the api's own throughput, not the copy's.
 */
export async function measureApiLoad(ctx: BenchContext): Promise<Figure[]> {
  await pullAndWait(ctx.relay.url, ctx.main.pinnedRef, 60_000); // make sure the record is done
  const body = JSON.stringify({ image: ctx.main.pinnedRef, platform: 'linux/amd64' });
  ctx.note(`api load: autocannon -c ${LOAD_CONNECTIONS} -d ${ctx.options.loadSeconds} POST /v1/pulls`);
  const run = await runTimed(
    process.execPath,
    [ctx.prereq.autocannon, '--json', '-c', String(LOAD_CONNECTIONS), '-d', String(ctx.options.loadSeconds), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, `${ctx.relay.url}/v1/pulls`],
    { signal: ctx.signal },
  );
  const report = JSON.parse(run.stdout) as AutocannonReport;
  const failed = report.errors + report.timeouts + report.non2xx;
  return [
    {
      id: 'api-load',
      item: 6,
      pass: null,
      line:
        `[6] POST /v1/pulls at ${LOAD_CONNECTIONS} connections, ${ctx.options.loadSeconds} s (digest-pinned image already done: api path only, no worker): ` +
        `${report.requests.average.toFixed(0)} req/s, p50 ${formatMs(report.latency.p50)}, p99 ${formatMs(report.latency.p99)}, ${failed} non-2xx/errors | no target (measured)`,
      data: {
        requestsPerSecond: report.requests.average,
        requests: report.requests.total,
        latencyMs: report.latency,
        errors: report.errors,
        timeouts: report.timeouts,
        non2xx: report.non2xx,
        ok2xx: report['2xx'],
      },
    },
  ];
}
