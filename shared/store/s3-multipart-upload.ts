import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { awsError } from '../aws/aws-error.ts';

/**
 * Part size: S3 wants ≥ 5 MiB for every part but the last, and fauxqs (our test server) refuses
 * request bodies over 11 MiB, so 8 MiB. Larger layers raise it (see partSizeFor) to stay within
 * S3's 10,000-part limit, which 8 MiB alone would cap at 78 GiB.
 */
export const PART_SIZE_BYTES = 8 * 1024 * 1024;
/**
 * Parts uploading at once. The registry stream is the bottleneck (one TCP stream from Harbor);
 * two uploads in flight keep S3 busy while the next part fills, and memory stays flat at about
 * (PARTS_IN_FLIGHT + 1) × part size = 24 MiB per copy, whatever the layer size.
 */
export const PARTS_IN_FLIGHT = 2;
/** S3's limit on parts in one multipart upload. */
export const MAX_PARTS = 10_000;

/** Where the multipart upload goes. */
export interface MultipartTarget {
  client: S3Client;
  bucket: string;
  key: string;
}

/** The part size for an object of `size` bytes: 8 MiB, or the smallest whole MiB that fits in 10,000 parts. */
export function partSizeFor(size: number): number {
  const mib = 1024 * 1024;
  return Math.max(PART_SIZE_BYTES, Math.ceil(size / MAX_PARTS / mib) * mib);
}

/**
 * Uploads `body` as one multipart upload and completes it only when `body` ended cleanly. `body`
 * is a verifying stream (verify-digest.ts), which ends with an error instead of a clean end when
 * the size or digest is wrong, so CompleteMultipartUpload is never sent for unverified bytes.
 * On any failure the parts in flight are cancelled and the upload is aborted: nothing becomes
 * visible under the key, and no parts are left to pay for (the bucket's lifecycle rule catches an
 * abort that itself fails).
 *
 * Steps: 1. CreateMultipartUpload. 2. Cut the stream into parts; at most PARTS_IN_FLIGHT upload at
 * once, and the stream is not read while all slots are busy (back-pressure reaches the registry).
 * 3. The stream ended cleanly → upload the last part, wait for all, CompleteMultipartUpload.
 * 4. Anything failed → cancel in-flight parts, wait for them to settle, AbortMultipartUpload.
 */
export async function uploadVerifiedMultipart(target: MultipartTarget, body: AsyncIterable<Buffer>, size: number): Promise<void> {
  const { client, bucket, key } = target;
  const partSize = partSizeFor(size);
  // 1.
  let uploadId: string;
  try {
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: 'application/octet-stream' }));
    if (created.UploadId === undefined) throw new Error('CreateMultipartUpload returned no UploadId');
    uploadId = created.UploadId;
  } catch (err) {
    throw awsError('STORE_UNAVAILABLE', `S3 CreateMultipartUpload ${key}`, err);
  }

  const cancel = new AbortController();
  const inFlight = new Set<Promise<void>>();
  const parts: CompletedPart[] = [];
  let failure: unknown;
  const startPart = (partNumber: number, bytes: Buffer) => {
    const upload: Promise<void> = client
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: bytes, ContentLength: bytes.length }), {
        abortSignal: cancel.signal,
      })
      .then((out) => {
        parts.push({ PartNumber: partNumber, ETag: out.ETag });
      })
      .catch((err: unknown) => {
        failure ??= awsError('STORE_UNAVAILABLE', `S3 UploadPart ${key} #${partNumber}`, err);
        cancel.abort();
      })
      .finally(() => inFlight.delete(upload));
    inFlight.add(upload);
  };

  try {
    // 2.
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let partNumber = 0;
    for await (const chunk of body) {
      for (let offset = 0; offset < chunk.length; ) {
        const take = Math.min(partSize - pendingBytes, chunk.length - offset);
        pending.push(chunk.subarray(offset, offset + take));
        pendingBytes += take;
        offset += take;
        if (pendingBytes < partSize) continue;
        while (inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(inFlight);
        if (failure !== undefined) throw failure;
        startPart(++partNumber, Buffer.concat(pending, pendingBytes));
        pending = [];
        pendingBytes = 0;
      }
    }
    // 3. Reaching here means the verifier's flush passed: size and digest matched.
    if (pendingBytes > 0 || partNumber === 0) startPart(++partNumber, Buffer.concat(pending, pendingBytes));
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
    try {
      await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      throw awsError('STORE_UNAVAILABLE', `S3 CompleteMultipartUpload ${key}`, err);
    }
  } catch (err) {
    // 4. Parts finishing after an abort could keep storage alive (S3 docs), so wait for them first.
    cancel.abort();
    await Promise.allSettled([...inFlight]);
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}
