import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets without leaking, through timing, how much of them matched. Both sides are
 * hashed first: `timingSafeEqual` needs equal lengths, and comparing fixed-size digests hides the
 * secret's length as well.
 */
export function constantTimeEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

/** SHA-256 of a UTF-8 string, for comparing secrets as fixed-size digests. */
export function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}
