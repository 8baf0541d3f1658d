import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { request, type Dispatcher } from 'undici';
import { RelayError } from '../../shared/errors.ts';
import { redactUrl } from '../../shared/redact.ts';

/** Attempts in a row that move no byte before we give up: a dead link, not a flaky one. */
export const MAX_ATTEMPTS_WITHOUT_PROGRESS = 5;
/** Resumes in all for one blob: a link that drops every few bytes forever must end too. */
export const MAX_RESUMES = 100;
/** Fresh URLs in a row that still answer 403: past this the URL is not expiring, it is refused. */
const MAX_REFRESHES_IN_A_ROW = 3;
/**
 * A connection that delivers nothing for this long is dropped and resumed. undici's default is 300 s,
 * and every stall that made some progress resets the no-progress count, so a link that stalls now and
 * then took hours (h2 N9); S3 and the local relay send continuously while they can.
 */
export const STALL_TIMEOUT_MS = 45_000;
/** First wait before a resume; doubles per attempt without progress, capped below. */
const BASE_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 8_000;

/** What a resumable download needs. */
export interface ResumableDownloadOptions {
  /** A signed object URL; it may name a host other than the relay (S3), so no credentials go with it. */
  url: string;
  /** The descriptor size: where the download ends, and what a Content-Range must say. */
  size: number;
  /** A fresh URL for the same object when the signed one answers 403 (expired mid-download). */
  refreshUrl?: () => Promise<string>;
  /** Called with the byte offset after each chunk, and when a resume starts. */
  onProgress?: (offset: number) => void;
  onResume?: (offset: number, attempt: number) => void;
  /** The signed URL answered 403 and a fresh one is being used: an expiry, not a dropped connection. */
  onUrlRefresh?: () => void;
  /** Default STALL_TIMEOUT_MS; tests shorten it. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * The object's bytes, in order, once each, across dropped connections (field case F1):
 * 1. GET the URL; after a drop at offset N, GET again with `Range: bytes=N-`;
 * 2. a 206 must say `Content-Range: bytes N-(size-1)/size`, else the next try asks for the whole
 *    object; a 200 (Range ignored, F2) is read from its start and its first N bytes are skipped, so
 *    nothing is appended twice — the caller's hash simply continues;
 * 3. a 403 (expired signature) gets a fresh URL from `refreshUrl`, at once and without counting as a
 *    resume; a 200 of another length than `size`, or a 416, is SIZE_MISMATCH; other statuses fail at once;
 * 4. a connection silent for `stallTimeoutMs` is dropped and resumed like a reset one;
 * 5. waits back off while no byte moves; MAX_ATTEMPTS_WITHOUT_PROGRESS and MAX_RESUMES end it.
 * Integrity is the caller's: pipe this through verify-digest.ts.
 */
export function openResumableDownload(options: ResumableDownloadOptions): Readable {
  return Readable.from(downloadChunks(options), { objectMode: false });
}

async function* downloadChunks(options: ResumableDownloadOptions): AsyncGenerator<Buffer> {
  const sleep = options.sleep ?? ((ms: number) => delay(ms, undefined, { signal: options.signal }));
  let url = options.url;
  let offset = 0;
  let askRange = true;
  let stalled = 0;
  let resumes = 0;
  let refreshes = 0;
  let refreshed = false;
  const timeout = options.stallTimeoutMs ?? STALL_TIMEOUT_MS;
  for (let first = true; first || offset < options.size; first = false) {
    if (refreshed) refreshed = false; // the same attempt, with a new URL
    else if (!first) {
      resumes += 1;
      stalled += 1;
      if (stalled > MAX_ATTEMPTS_WITHOUT_PROGRESS || resumes > MAX_RESUMES) {
        throw new RelayError('DOWNLOAD_FAILED', `download of ${redactUrl(url)} stopped at byte ${offset} of ${options.size} and did not recover after ${resumes - 1} resumes`);
      }
      await sleep(Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** (stalled - 1)));
      options.onResume?.(offset, resumes);
    }
    const ranged = offset > 0 && askRange;
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, {
        method: 'GET',
        headers: { 'accept-encoding': 'identity', ...(ranged ? { range: `bytes=${offset}-` } : {}) },
        bodyTimeout: timeout,
        headersTimeout: timeout,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
    } catch (err) {
      if (options.signal?.aborted) throw err;
      continue; // connection refused or reset before headers: resume
    }
    let skip = 0;
    if (response.statusCode === 206 && ranged) {
      if (!contentRangeStartsAt(response.headers['content-range'], offset, options.size)) {
        await response.body.dump();
        askRange = false; // a server that answers another range than asked: take whole bodies from now on
        continue;
      }
    } else if (response.statusCode === 200) {
      const length = response.headers['content-length'];
      if (length !== undefined && Number(length) !== options.size) {
        await response.body.dump();
        throw new RelayError('SIZE_MISMATCH', `${redactUrl(url)} holds ${Number(length)} bytes, ${Number(length) < options.size ? 'shorter' : 'longer'} than the ${options.size} its descriptor says`);
      }
      skip = offset;
    } else if (response.statusCode === 403 && options.refreshUrl && refreshes < MAX_REFRESHES_IN_A_ROW) {
      await response.body.dump();
      refreshes += 1;
      url = await options.refreshUrl();
      options.onUrlRefresh?.();
      refreshed = true;
      continue;
    } else {
      await response.body.dump();
      throw statusError(response.statusCode, url);
    }
    const encoding = response.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity') {
      await response.body.dump();
      throw new RelayError('DOWNLOAD_FAILED', `${redactUrl(url)} answered with Content-Encoding ${String(encoding).slice(0, 40)}; the bytes would not match the digest`);
    }
    try {
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        let part = chunk;
        if (skip > 0) {
          const dropped = Math.min(skip, part.length);
          skip -= dropped;
          part = part.subarray(dropped);
          if (part.length === 0) continue;
        }
        offset += part.length;
        stalled = 0;
        refreshes = 0;
        options.onProgress?.(offset);
        yield part;
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      // the connection dropped mid-body: resume from `offset`
    }
  }
}

/** True when a Content-Range header says the body starts at `start` and runs to the end of `size` bytes. */
function contentRangeStartsAt(header: string | string[] | undefined, start: number, size: number): boolean {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(String(header ?? '').trim());
  return match !== null && Number(match[1]) === start && Number(match[2]) === size - 1 && (match[3] === '*' || Number(match[3]) === size);
}

function statusError(status: number, url: string): RelayError {
  const where = redactUrl(url);
  if (status === 404) return new RelayError('NOT_FOUND', `${where} answered 404: the relay no longer holds this object`);
  if (status === 403) return new RelayError('URL_EXPIRED', `${where} answered 403: the signed URL expired or is not valid`);
  // We ask for `bytes=N-` only below the descriptor's size: a 416 means the stored object ends before it.
  if (status === 416) return new RelayError('SIZE_MISMATCH', `${where} answered 416: the object is shorter than its descriptor says`);
  return new RelayError('DOWNLOAD_FAILED', `${where} answered ${status}`, { retryable: status >= 500 });
}
