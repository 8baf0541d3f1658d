import { REQUEST_LOG_PATH } from '../../infra/local/harbor-standin.ts';
import { countBlobGets, type LoggedRequest } from '../../infra/local/request-log.ts';

/** A position in the stand-in's request log; read what happened after it. */
export interface LogMark {
  readonly since: number;
}

/**
 * Reads the stand-in's request log over HTTP, because test files run in other processes than the
 * global setup that owns the stand-in. Test files run in parallel, so count from a mark (or per
 * repository) instead of resetting the log.
 */
export function createStandInClient(standInUrl: string) {
  async function fetchLog(since: number): Promise<{ total: number; requests: LoggedRequest[] }> {
    const response = await fetch(new URL(`${REQUEST_LOG_PATH}?since=${since}`, standInUrl));
    if (!response.ok) throw new Error(`stand-in request log answered ${response.status}`);
    return (await response.json()) as { total: number; requests: LoggedRequest[] };
  }
  return {
    /** Marks the current end of the log. */
    async mark(): Promise<LogMark> {
      return { since: (await fetchLog(Number.MAX_SAFE_INTEGER)).total };
    },
    /** Requests logged after `mark` (all of them without one). */
    async requests(mark?: LogMark): Promise<LoggedRequest[]> {
      return (await fetchLog(mark?.since ?? 0)).requests;
    },
    /** GETs of `/v2/<repository>/blobs/<digest>` after `mark`, optionally for one repository. */
    async blobGets(digest: string, options: { since?: LogMark; repository?: string } = {}): Promise<number> {
      return countBlobGets((await fetchLog(options.since?.since ?? 0)).requests, digest, options.repository);
    },
  };
}

/** A client for the stand-in's request log. */
export type StandInClient = ReturnType<typeof createStandInClient>;
