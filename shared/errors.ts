/**
 * Errors are values with a stable code. They are created where the fault is found and
 * translated once, at the edge: to an HTTP response (functions/), to "retry" vs "mark the
 * pull failed" (worker), or to a CLI exit code (cli/).
 */

/** Every stable error code: the HTTP status it maps to at the API edge and whether retrying can help. */
export const ERROR_CODES = {
  // Caller input (API edge).
  INVALID_JSON: { status: 400, retryable: false },
  INVALID_REQUEST: { status: 400, retryable: false },
  INVALID_IMAGE_REF: { status: 400, retryable: false },
  INVALID_PLATFORM: { status: 400, retryable: false },
  INVALID_DIGEST: { status: 400, retryable: false },
  UNSUPPORTED_DIGEST_ALGORITHM: { status: 400, retryable: false },
  REGISTRY_NOT_ALLOWED: { status: 400, retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false },
  /** A pull request sent as something other than JSON (a cross-site form post, say). */
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false },
  NOT_FOUND: { status: 404, retryable: false },
  SIGNATURE_INVALID: { status: 403, retryable: false },
  URL_EXPIRED: { status: 403, retryable: false },
  RANGE_NOT_SATISFIABLE: { status: 416, retryable: false },
  /** No or unusable credentials on a protected route (answered with WWW-Authenticate). */
  UNAUTHENTICATED: { status: 401, retryable: false },
  /** Authenticated, but not allowed to pull the repository asked for (Harbor's or the token's decision). */
  FORBIDDEN: { status: 403, retryable: false },
  // Registry outcomes (recorded on failed pulls).
  IMAGE_NOT_FOUND: { status: 404, retryable: false },
  BLOB_NOT_FOUND: { status: 404, retryable: false },
  DENIED: { status: 403, retryable: false },
  PLATFORM_NOT_FOUND: { status: 404, retryable: false },
  UNSUPPORTED_MANIFEST: { status: 422, retryable: false },
  MANIFEST_INVALID: { status: 422, retryable: false },
  MANIFEST_TOO_LARGE: { status: 422, retryable: false },
  /** The image has more layers than RELAY_MAX_LAYERS allows. */
  TOO_MANY_LAYERS: { status: 422, retryable: false },
  /** A layer is larger than RELAY_MAX_BLOB_BYTES allows. */
  BLOB_TOO_LARGE: { status: 422, retryable: false },
  DIGEST_MISMATCH: { status: 502, retryable: true },
  SIZE_MISMATCH: { status: 502, retryable: true },
  REDIRECT_REFUSED: { status: 502, retryable: false },
  REGISTRY_UNAVAILABLE: { status: 502, retryable: true },
  REGISTRY_ERROR: { status: 502, retryable: false },
  RATE_LIMITED: { status: 503, retryable: true },
  // Layer contents (extraction on hosts).
  LAYER_INVALID: { status: 422, retryable: false },
  UNSAFE_ENTRY: { status: 422, retryable: false },
  /** A layer went past a configured extraction limit (entries, expanded bytes): field case J7. */
  LIMIT_EXCEEDED: { status: 422, retryable: false },
  // Hosts (layer-relay get).
  RELAY_UNAVAILABLE: { status: 502, retryable: true },
  DOWNLOAD_FAILED: { status: 502, retryable: true },
  OUTPUT_REFUSED: { status: 400, retryable: false },
  /**
   * Writing extracted or staged files to local disk failed (ENOSPC, EIO, EMFILE, EACCES...): the
   * machine's fault, not the layer's, so never a verdict about the layer. Retryable unless the errno
   * needs an operator (EACCES, EPERM, EROFS, ENAMETOOLONG); see shared/layer/filesystem-error.ts.
   */
  FILESYSTEM_ERROR: { status: 503, retryable: true },
  // Ours.
  CONFIG_INVALID: { status: 500, retryable: false },
  /** The object or record store (S3) failed or throttled; retrying later can help. */
  STORE_UNAVAILABLE: { status: 503, retryable: true },
  /** The job queue (SQS) failed or throttled. */
  QUEUE_UNAVAILABLE: { status: 503, retryable: true },
  /** The worker stopped before its Lambda deadline; the message goes back for another delivery. */
  DEADLINE_EXCEEDED: { status: 503, retryable: true },
  /** Every delivery of the pull's message failed without an outcome; SQS moved it to the dead-letter queue. */
  DEAD_LETTERED: { status: 500, retryable: false },
  INTERNAL: { status: 500, retryable: false },
} as const satisfies Record<string, { status: number; retryable: boolean }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Options for {@link RelayError}. */
export interface RelayErrorOptions {
  cause?: unknown;
  /** Overrides the code's default when the situation says otherwise (a 401 after a refresh is final). */
  retryable?: boolean;
  /** Context safe to log and to show: registry, repository, digest, redacted URL. Never secrets. */
  details?: Record<string, unknown>;
  /** The server asked us to wait this long before the next try (Retry-After). */
  retryAfterMs?: number;
}

/** The one error type of layer-relay: a stable code, a message a person can act on, and context. */
export class RelayError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: RelayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RelayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.retryable = options.retryable ?? ERROR_CODES[code].retryable;
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** True for a RelayError, optionally of one code. */
export function isRelayError(err: unknown, code?: ErrorCode): err is RelayError {
  return err instanceof RelayError && (code === undefined || err.code === code);
}

/** Any thrown value as a RelayError; unknown faults become INTERNAL with the original as cause. */
export function toRelayError(err: unknown): RelayError {
  if (err instanceof RelayError) return err;
  return new RelayError('INTERNAL', 'internal error', { cause: err });
}
