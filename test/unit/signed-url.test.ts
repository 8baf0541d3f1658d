import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isRelayError } from '../../shared/errors.ts';
import { signObjectPath, verifyObjectSignature } from '../../shared/signed-url.ts';

const secret = randomBytes(32);
const keyA = `blobs/sha256/${'a'.repeat(64)}`;
const keyB = `blobs/sha256/${'b'.repeat(64)}`;
const now = new Date('2030-01-01T00:00:00Z');
const expiresAt = new Date(now.getTime() + 900_000);

function parts(query: string): { expires: string; sig: string } {
  const params = new URLSearchParams(query);
  return { expires: params.get('expires')!, sig: params.get('sig')! };
}

function codeOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (!isRelayError(err)) throw err;
    return err.code;
  }
}

describe('signObjectPath / verifyObjectSignature', () => {
  const signed = parts(signObjectPath({ key: keyA, expiresAt, secret }));

  it('accepts its own signature before expiry', () => {
    expect(signed.expires).toBe(String(expiresAt.getTime() / 1000));
    expect(codeOf(() => verifyObjectSignature({ key: keyA, ...signed, secret, now }))).toBeUndefined();
  });

  it('refuses a signature with one changed character', () => {
    const flipped = (signed.sig[0] === '0' ? '1' : '0') + signed.sig.slice(1);
    expect(codeOf(() => verifyObjectSignature({ key: keyA, expires: signed.expires, sig: flipped, secret, now }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a URL signed for key A used for key B', () => {
    expect(codeOf(() => verifyObjectSignature({ key: keyB, ...signed, secret, now }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses an extended expiry as a forgery, not as expired', () => {
    const later = String(Number(signed.expires) + 3600);
    expect(codeOf(() => verifyObjectSignature({ key: keyA, expires: later, sig: signed.sig, secret, now }))).toBe('SIGNATURE_INVALID');
  });

  it('refuses a signature made with another secret', () => {
    expect(codeOf(() => verifyObjectSignature({ key: keyA, ...signed, secret: randomBytes(32), now }))).toBe('SIGNATURE_INVALID');
  });

  it('reports a genuine URL past its expiry as expired', () => {
    expect(codeOf(() => verifyObjectSignature({ key: keyA, ...signed, secret, now: expiresAt }))).toBe('URL_EXPIRED');
    expect(codeOf(() => verifyObjectSignature({ key: keyA, ...signed, secret, now: new Date(expiresAt.getTime() - 1) }))).toBeUndefined();
  });

  it.each([
    ['missing sig', { expires: signed.expires, sig: undefined }],
    ['missing expires', { expires: undefined, sig: signed.sig }],
    ['short sig', { expires: signed.expires, sig: signed.sig.slice(0, 62) }],
    ['long sig', { expires: signed.expires, sig: `${signed.sig}00` }],
    ['odd-length sig', { expires: signed.expires, sig: signed.sig.slice(0, 63) }],
    ['upper-case sig', { expires: signed.expires, sig: signed.sig.toUpperCase() }],
    ['non-hex sig', { expires: signed.expires, sig: 'zz'.repeat(32) }],
    ['empty sig', { expires: signed.expires, sig: '' }],
    ['negative expires', { expires: `-${signed.expires}`, sig: signed.sig }],
    ['fractional expires', { expires: `${signed.expires}.5`, sig: signed.sig }],
    ['expires with spaces', { expires: ` ${signed.expires}`, sig: signed.sig }],
  ])('refuses a malformed value: %s', (_name, values) => {
    expect(codeOf(() => verifyObjectSignature({ key: keyA, ...values, secret, now }))).toBe('SIGNATURE_INVALID');
  });

  it('never puts the secret in the query', () => {
    const query = signObjectPath({ key: keyA, expiresAt, secret });
    expect(query).not.toContain(secret.toString('hex'));
    expect(query).toMatch(/^expires=\d+&sig=[0-9a-f]{64}$/);
  });
});
