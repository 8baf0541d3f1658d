/** One request the stand-in front answered. `path` has no query string (signed values stay out). */
export interface LoggedRequest {
  method: string;
  path: string;
  status: number;
  /** Token requests only: the `scope` parameters asked for. */
  scopes?: string[];
  /** Token requests only: the user name that authenticated, if any. */
  account?: string;
}

const BLOB_PATH = /^\/v2\/(.+)\/blobs\/([a-z0-9]+:[a-zA-Z0-9=_-]+)$/;

/** Counts GETs of `/v2/<repo>/blobs/<digest>`, optionally for one repository, in `requests`. */
export function countBlobGets(requests: readonly LoggedRequest[], digest: string, repository?: string): number {
  let count = 0;
  for (const request of requests) {
    if (request.method !== 'GET') continue;
    const match = BLOB_PATH.exec(request.path);
    if (match && match[2] === digest && (repository === undefined || match[1] === repository)) count++;
  }
  return count;
}
