import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { RelayError } from '../errors.ts';
import type { ImageRef } from '../image-ref.ts';
import type { RetryPolicy } from '../retry-policy.ts';
import type { Descriptor } from './descriptor.ts';
import { parseContentRange } from './content-range.ts';
import { followRedirects, type FollowedResponse } from './follow-redirects.ts';
import { isForbiddenHostError } from './forbidden-host.ts';
import { allowedForeignUrls } from './foreign-layer.ts';
import type { RegistryRequest } from './registry-request.ts';
import { discardBody, failFor, refuseContentEncoding } from './registry-response.ts';
import { resumableBlob } from './resumable-blob.ts';
import { contextDetails, networkError, type RegistryErrorContext } from './wire-error.ts';

/** Opens a blob as a stream of exactly its bytes (not verified here: the store's verifier does that). */
export type BlobOpener = (ref: ImageRef, descriptor: Descriptor) => Promise<Readable>;

/** What {@link createBlobOpener} needs. */
export interface BlobOpenerOptions {
  readonly request: RegistryRequest;
  readonly retry: RetryPolicy;
  readonly registry: string;
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;
  /** Hosts foreign-layer URLs may be fetched from (RELAY_FOREIGN_HOSTS); empty: never. */
  readonly foreignHosts: ReadonlySet<string>;
  /** Told about each Range resume (offset, cause), for logs. */
  readonly onResume?: ((offset: number, cause: RelayError) => void) | undefined;
}

/** One place a blob can come from: a GET with the given headers. */
type BlobSource = (headers: Record<string, string>) => Promise<FollowedResponse>;

/**
 * Blob downloads:
 * 1. where from: an operator-allowed foreign URL first (no credentials, one try), else the registry (K1);
 * 2. GET with `Accept-Encoding: identity` (F4), redirects followed without registry credentials off
 *    its origin (A1), error statuses retried by the one retry policy — each retry asks the registry
 *    again, so it gets a fresh token and a fresh storage redirect (G1, A1);
 * 3. the body flows through a resumable stream: a reset mid-body re-requests `Range: bytes=N-`
 *    (again fresh token, fresh redirect) and accepts only a 206 whose Content-Range starts at N (F1);
 *    a 200 there means the server ignored Range: the copy fails retryably rather than append a
 *    whole body after N bytes; a caller that retries starts again from zero with a fresh hash (F2).
 */
export function createBlobOpener(options: BlobOpenerOptions): BlobOpener {
  const { request, retry, registry } = options;
  return async (ref, descriptor) => {
    const context: RegistryErrorContext = { operation: 'blob', registry, repository: ref.repository, reference: descriptor.digest };
    const fromRegistry: BlobSource = (headers) => request.get(`/v2/${ref.repository}/blobs/${descriptor.digest}`, ref.repository, headers, context);
    const foreign = allowedForeignUrls(descriptor, options.foreignHosts).map(
      (url): BlobSource =>
        (headers) =>
          followRedirects({
            url,
            dispatcher: options.dispatcher,
            headers: { ...headers, 'user-agent': options.userAgent },
            authorization: undefined,
            trustedOrigin: '',
            allowedHosts: options.foreignHosts,
            context,
          }),
    );

    let source = fromRegistry;
    let first: FollowedResponse | undefined;
    for (const candidate of foreign) {
      try {
        first = checkBody(await get(candidate, 0, context), 0, descriptor, context);
        source = candidate;
        break;
      } catch (err) {
        // A foreign host that fails is skipped: the registry is the source of record. One that
        // leads to the metadata service is not a failure but an attack: the pull stops, loudly.
        if (isForbiddenHostError(err)) throw err;
      }
    }
    first ??= checkBody(await retry.retry(() => get(fromRegistry, 0, context)), 0, descriptor, context);
    return resumableBlob({
      size: descriptor.size,
      what: descriptor.digest,
      first: first.response.body,
      reopen: async (offset) => checkBody(await retry.retry(() => get(source, offset, context)), offset, descriptor, context).response.body,
      mapError: (err) => networkError(err, { ...context, url: first.url }),
      onResume: options.onResume,
    });
  };
}

/** One GET of the blob from `offset`; error statuses throw (the caller's retry policy decides about them). */
async function get(source: BlobSource, offset: number, context: RegistryErrorContext): Promise<FollowedResponse> {
  const answer = await source({ 'accept-encoding': 'identity', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) });
  const { statusCode } = answer.response;
  if (statusCode === 416 && offset > 0) {
    // Nothing at or after `offset`: the blob is shorter than its descriptor says (E3).
    discardBody(answer.response.body);
    throw new RelayError('SIZE_MISMATCH', `${context.reference ?? 'blob'} ended at ${offset} bytes, short of the size its descriptor names`, {
      details: { ...contextDetails({ ...context, url: answer.url }), received: offset },
    });
  }
  if (statusCode !== 200 && statusCode !== 206) return failFor(answer, { ...context, url: answer.url });
  return answer;
}

/**
 * The answer, when its body is exactly the blob's bytes from `offset` on. Otherwise it throws
 * without retrying here: another identical request would get the same wrong answer, so a wrong
 * range or length is retryable for the delivery (a fresh copy from zero), not for this request.
 */
function checkBody(answer: FollowedResponse, offset: number, descriptor: Descriptor, context: RegistryErrorContext): FollowedResponse {
  const { statusCode, headers, body } = answer.response;
  refuseContentEncoding(answer, context);
  const details = { ...contextDetails({ ...context, url: answer.url }), size: descriptor.size, offset };
  const refuse = (error: RelayError): never => {
    discardBody(body);
    throw error;
  };
  if (statusCode === 200) {
    if (offset > 0) {
      // Retryable, but not here: only a copy from byte 0 with a fresh hash can succeed, and only the
      // caller can start one (the worker's queue redelivery; `get --direct` its own layer retry).
      refuse(new RelayError('REGISTRY_ERROR', `${descriptor.digest}: asked for bytes ${offset}- and got the whole blob (Range ignored); nothing was appended, and the blob must be fetched again from byte 0`, {
        retryable: true,
        details,
      }));
    }
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) !== descriptor.size) {
      refuse(new RelayError('SIZE_MISMATCH', `${descriptor.digest} should be ${descriptor.size} bytes, the server announced ${declared}`, {
        details: { ...details, contentLength: Number(declared) },
      }));
    }
    return answer;
  }
  const range = parseContentRange(headers['content-range']);
  if (range === undefined || range.first !== offset) {
    const said = typeof headers['content-range'] === 'string' ? headers['content-range'].slice(0, 80) : 'none';
    refuse(new RelayError('REGISTRY_ERROR', `${descriptor.digest}: asked for bytes ${offset}- and got a 206 with Content-Range ${said}`, {
      retryable: true,
      details: { ...details, contentRange: said },
    }));
  }
  if ((range!.complete !== undefined && range!.complete !== descriptor.size) || range!.last >= descriptor.size) {
    refuse(new RelayError('SIZE_MISMATCH', `${descriptor.digest} should be ${descriptor.size} bytes, the server's Content-Range says ${String(headers['content-range']).slice(0, 80)}`, { details }));
  }
  return answer;
}
