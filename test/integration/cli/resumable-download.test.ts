import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openResumableDownload } from '../../../cli/get/resumable-download.ts';
import { digestOf } from '../../../shared/digest.ts';
import { verifyDigest } from '../../../shared/verify-digest.ts';

const BODY = randomBytes(200 * 1024);
type Behaviour = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;
let behaviour: Behaviour = () => {};
let attempts: Array<{ range?: string; authorization?: string }> = [];
let base = '';
const server = createServer((req, res) => {
  attempts.push({ ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
  behaviour(req, res, attempts.length);
});

/** Serves BODY honouring `bytes=N-`, optionally cutting the connection after `cutAfter` body bytes. */
function serve(req: IncomingMessage, res: ServerResponse, options: { cutAfter?: number; ignoreRange?: boolean; shiftRange?: number } = {}): void {
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = match && !options.ignoreRange ? Number(match[1]) : 0;
  const body = BODY.subarray(start);
  if (start > 0) {
    const shown = start + (options.shiftRange ?? 0);
    res.writeHead(206, { 'content-length': body.length, 'content-range': `bytes ${shown}-${shown + body.length - 1}/${BODY.length}` });
  } else {
    res.writeHead(200, { 'content-length': body.length });
  }
  if (options.cutAfter === undefined) return void res.end(body);
  res.write(body.subarray(0, options.cutAfter), () => res.socket?.destroy());
}

async function download(url = `${base}/blob`, extra: Partial<Parameters<typeof openResumableDownload>[0]> = {}): Promise<{ bytes: Buffer; resumes: number[] }> {
  const resumes: number[] = [];
  const chunks: Buffer[] = [];
  await pipeline(
    openResumableDownload({ url, size: BODY.length, sleep: async () => {}, onResume: (offset) => resumes.push(offset), ...extra }),
    verifyDigest(digestOf(BODY), BODY.length),
    new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }),
  );
  return { bytes: Buffer.concat(chunks), resumes };
}

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('openResumableDownload', () => {
  it('F1: resumes with Range after a reset; the hash continues and verifies', async () => {
    attempts = [];
    behaviour = (req, res, n) => serve(req, res, n === 1 ? { cutAfter: 64 * 1024 } : {});
    const { bytes, resumes } = await download();
    expect(bytes.equals(BODY)).toBe(true);
    expect(resumes).toHaveLength(1);
    expect(attempts[1]?.range).toBe(`bytes=${resumes[0]}-`);
  });

  it('F2: a server that ignores Range and answers 200 is read from the start, its first N bytes skipped', async () => {
    attempts = [];
    behaviour = (req, res, n) => serve(req, res, { ignoreRange: true, ...(n === 1 ? { cutAfter: 50_000 } : {}) });
    const { bytes } = await download();
    expect(bytes.equals(BODY)).toBe(true);
    expect(attempts).toHaveLength(2);
  });

  it('a 206 whose Content-Range starts elsewhere is not appended: the next try takes the whole body', async () => {
    attempts = [];
    behaviour = (req, res, n) => serve(req, res, n === 1 ? { cutAfter: 30_000 } : n === 2 ? { shiftRange: 1 } : {});
    const { bytes } = await download();
    expect(bytes.equals(BODY)).toBe(true);
    expect(attempts.map((a) => a.range === undefined)).toEqual([true, false, true]);
  });

  it('an expired signed URL (403) is refreshed once per try, and no credentials are sent to object URLs', async () => {
    attempts = [];
    behaviour = (req, res) => (req.url === '/expired' ? void res.writeHead(403).end() : serve(req, res));
    let refreshed = 0;
    const { bytes } = await download(`${base}/expired`, { refreshUrl: async () => ((refreshed += 1), `${base}/fresh`) });
    expect(bytes.equals(BODY)).toBe(true);
    expect(refreshed).toBe(1);
    expect(attempts.every((a) => a.authorization === undefined)).toBe(true);
  });

  it('an expired URL is reported as such, not as a dropped connection, and does not count as a stall (N7)', async () => {
    attempts = [];
    // Every URL expires after its first 20,000 bytes: six refreshes in a row would exhaust the stall budget if they counted.
    let n = 0;
    const used = new Set<string>();
    behaviour = (req, res) => {
      if (used.has(req.url!)) return void res.writeHead(403).end();
      used.add(req.url!);
      serve(req, res, { cutAfter: 20_000 });
    };
    const refreshes: number[] = [];
    const resumes: number[] = [];
    const chunks: Buffer[] = [];
    await pipeline(
      openResumableDownload({
        url: `${base}/short-lived-0`,
        size: BODY.length,
        sleep: async () => {},
        refreshUrl: async () => `${base}/short-lived-${++n}`,
        onUrlRefresh: () => refreshes.push(n),
        onResume: (offset) => resumes.push(offset),
      }),
      verifyDigest(digestOf(BODY), BODY.length),
      new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }),
    );
    expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
    expect(refreshes.length).toBeGreaterThan(5);
    expect(resumes.length).toBe(refreshes.length); // one resume per cut, none for the 403s themselves
  });

  it('a URL that stays 403 after refreshes fails with URL_EXPIRED, not in a loop', async () => {
    attempts = [];
    behaviour = (_req, res) => void res.writeHead(403).end();
    let refreshed = 0;
    await expect(download(`${base}/expired`, { refreshUrl: async () => ((refreshed += 1), `${base}/still-expired`) })).rejects.toMatchObject({ code: 'URL_EXPIRED' });
    expect(refreshed).toBeLessThanOrEqual(3);
  });

  it('a connection that stalls (open, no bytes) is dropped after the stall timeout and resumed (N9)', async () => {
    attempts = [];
    behaviour = (req, res, n) => {
      if (n > 1) return serve(req, res);
      res.writeHead(200, { 'content-length': BODY.length });
      res.write(BODY.subarray(0, 10_000)); // then nothing, socket left open
    };
    const started = Date.now();
    const { bytes, resumes } = await download(`${base}/blob`, { stallTimeoutMs: 300 });
    expect(bytes.equals(BODY)).toBe(true);
    expect(resumes).toEqual([10_000]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('an object shorter than its descriptor fails with SIZE_MISMATCH, not 416 / DOWNLOAD_FAILED (N10)', async () => {
    attempts = [];
    const short = BODY.subarray(0, BODY.length - 1000);
    behaviour = (req, res) => {
      if (req.headers.range) return void res.writeHead(416, { 'content-range': `bytes */${short.length}` }).end();
      res.writeHead(200, { 'content-length': short.length }).end(short);
    };
    await expect(download()).rejects.toMatchObject({ code: 'SIZE_MISMATCH', message: expect.stringMatching(/shorter than/) });
  });

  it('gives up with DOWNLOAD_FAILED when no byte moves across attempts', async () => {
    attempts = [];
    behaviour = (req, res) => serve(req, res, { cutAfter: 0 });
    await expect(download()).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED', message: expect.stringContaining('stopped at byte 0') });
    expect(attempts.length).toBe(6);
  });

  it('a 404 fails at once, without retrying', async () => {
    attempts = [];
    behaviour = (_req, res) => void res.writeHead(404).end();
    await expect(download()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(attempts).toHaveLength(1);
  });

  it('a body that does not hash to the digest ends in DIGEST_MISMATCH, never a clean end', async () => {
    behaviour = (_req, res) => {
      const copy = Buffer.from(BODY);
      copy[1000] = copy[1000]! ^ 0xff;
      res.writeHead(200, { 'content-length': copy.length }).end(copy);
    };
    await expect(download()).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });

  it('sends Accept-Encoding: identity', async () => {
    let seen: string | undefined;
    behaviour = (req, res) => {
      seen = req.headers['accept-encoding'];
      serve(req, res);
    };
    await download();
    expect(seen).toBe('identity');
  });
});
