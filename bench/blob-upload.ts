import { createHash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { request } from 'undici';
import { parseDigest, type Digest } from '../shared/digest.ts';
import { fetchHarborToken, type HarborLogin } from './harbor-token.ts';

/** A blob the registry now holds, as its bytes hashed on the way up. */
export interface UploadedBlob {
  digest: Digest;
  size: number;
}

/**
 * Streams `source` into `repository` with the distribution spec's chunked upload, so a blob of any
 * size goes up without being held in memory: 1) POST /blobs/uploads/ opens a session; 2) one PATCH
 * streams the whole body (chunked transfer), hashed as it flows; 3) PUT ?digest= closes it, and the
 * registry checks the digest we computed. `expected`, when given, must match.
 */
export async function uploadBlobStream(login: HarborLogin, repository: string, source: Readable, expected?: Digest): Promise<UploadedBlob> {
  const token = await fetchHarborToken(login, repository, 'pull,push');
  const authorization = `Bearer ${token}`;
  const started = await request(new URL(`/v2/${repository}/blobs/uploads/`, login.url), { method: 'POST', headers: { authorization } });
  await started.body.dump();
  if (started.statusCode !== 202) throw new Error(`upload to ${repository}: POST answered ${started.statusCode}`);
  let location = new URL(String(started.headers.location), login.url);

  const hash = createHash('sha256');
  let size = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  source.once('error', (err) => hashing.destroy(err));
  const patched = await request(location, {
    method: 'PATCH',
    headers: { authorization, 'content-type': 'application/octet-stream' },
    body: source.pipe(hashing),
  });
  await patched.body.dump();
  if (patched.statusCode !== 202) throw new Error(`upload to ${repository}: PATCH answered ${patched.statusCode}`);
  location = new URL(String(patched.headers.location), login.url);

  const digest = parseDigest(`sha256:${hash.digest('hex')}`);
  if (expected !== undefined && digest !== expected) throw new Error(`uploaded bytes hash to ${digest}, expected ${expected}`);
  location.searchParams.set('digest', digest);
  const closed = await request(location, { method: 'PUT', headers: { authorization, 'content-length': '0' } });
  const text = await closed.body.text();
  if (closed.statusCode !== 201) throw new Error(`upload to ${repository}: PUT answered ${closed.statusCode}: ${text.slice(0, 300)}`);
  return { digest, size };
}
