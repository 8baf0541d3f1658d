import { createHmac, timingSafeEqual } from 'node:crypto';
import { RelayError } from './errors.ts';

/**
 * Domain separation for the HMAC: a signature made for object URLs can never be replayed as a
 * signature for anything else signed with the same secret, and a future format gets a new tag.
 */
const SIGNATURE_CONTEXT = 'layer-relay/object-url/v1';
/** SHA-256 HMAC, hex: 32 bytes, 64 characters. */
const SIGNATURE_HEX_LENGTH = 64;
/** Unix seconds; 12 digits reach far past any TTL and keep Number arithmetic exact. */
const EXPIRES_SHAPE = /^[0-9]{1,12}$/;
const SIGNATURE_SHAPE = /^[0-9a-f]+$/;

/** What a signature covers: one object key and one expiry instant. */
export interface ObjectSignatureInput {
  /** `blobs/sha256/<hex>` (see objectKey). */
  key: string;
  expiresAt: Date;
  secret: Buffer;
}

/**
 * The query string (`expires=<unix>&sig=<hex>`) that lets its holder GET `key` until `expiresAt`
 * (rounded down to the second, so a URL never lives longer than asked).
 */
export function signObjectPath({ key, expiresAt, secret }: ObjectSignatureInput): string {
  const expires = Math.floor(expiresAt.getTime() / 1000);
  if (!Number.isSafeInteger(expires) || expires < 0) {
    throw new RelayError('INTERNAL', 'signed URL expiry is not a valid instant');
  }
  return `expires=${expires}&sig=${signature(key, String(expires), secret)}`;
}

/** The received parts of a signed object URL, as strings straight from the query. */
export interface ObjectSignatureCheck {
  key: string;
  expires: string | undefined;
  sig: string | undefined;
  secret: Buffer;
  now?: Date;
}

/**
 * Throws SIGNATURE_INVALID unless `sig` was made with `secret` for exactly this key and expiry,
 * and URL_EXPIRED once the expiry has passed. The signature is checked first, so a forged expiry
 * is reported as a forgery, not as an expired URL.
 */
export function verifyObjectSignature({ key, expires, sig, secret, now = new Date() }: ObjectSignatureCheck): void {
  if (expires === undefined || sig === undefined || !EXPIRES_SHAPE.test(expires) || !SIGNATURE_SHAPE.test(sig)) {
    throw invalid();
  }
  const expected = Buffer.from(signature(key, expires, secret), 'hex');
  const given = Buffer.from(sig, 'hex');
  // timingSafeEqual throws on unequal lengths; the length of a valid signature is public anyway.
  if (sig.length !== SIGNATURE_HEX_LENGTH || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw invalid();
  }
  if (now.getTime() >= Number(expires) * 1000) {
    throw new RelayError('URL_EXPIRED', 'this signed URL has expired; ask the relay for a fresh one');
  }
}

/**
 * HMAC over context, key and expiry joined by newlines. Keys never contain a newline (objectKey
 * builds them from a kind, an algorithm name and hex) and the expiry is digits only, so the message
 * splits one way only: no URL can be widened to another key or another expiry.
 */
function signature(key: string, expires: string, secret: Buffer): string {
  if (key.includes('\n')) throw invalid();
  return createHmac('sha256', secret).update(`${SIGNATURE_CONTEXT}\n${key}\n${expires}`).digest('hex');
}

function invalid(): RelayError {
  // Says nothing about which part was wrong: the message must not help anyone forge a URL.
  return new RelayError('SIGNATURE_INVALID', 'the URL signature is not valid for this object');
}
