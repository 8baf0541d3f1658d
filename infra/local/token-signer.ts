import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One entry of a distribution token's `access` claim (docker/distribution docs/spec/auth/jwt.md). */
export interface TokenAccess {
  type: string;
  name: string;
  actions: string[];
}

/** Signs registry bearer tokens the way Harbor's token service does: RS256 JWT with a libtrust `kid`. */
export interface TokenSigner {
  /** PEM path of the self-signed certificate the registry trusts (`auth.token.rootcertbundle`). */
  readonly certPath: string;
  /** The `iss` claim; the registry's `auth.token.issuer` must equal it. */
  readonly issuer: string;
  sign(claims: { subject: string; audience: string; access: TokenAccess[]; ttlSeconds: number }): string;
}

/** Harbor's issuer name; only has to agree with the registry config. */
export const TOKEN_ISSUER = 'harbor-token-issuer';

/**
 * Creates an RSA key and a self-signed certificate in `dir` with openssl (node:crypto cannot
 * issue X.509 certificates), then signs tokens with node:crypto.
 */
export async function createTokenSigner(dir: string): Promise<TokenSigner> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await run('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', `/CN=${TOKEN_ISSUER}`, '-keyout', keyPath, '-out', certPath,
  ]);
  const privateKey = createPrivateKey(await readFile(keyPath));
  const kid = libtrustKeyId(createPublicKey(privateKey));
  return {
    certPath,
    issuer: TOKEN_ISSUER,
    sign({ subject, audience, access, ttlSeconds }) {
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: 'JWT', alg: 'RS256', kid };
      const payload = { iss: TOKEN_ISSUER, sub: subject, aud: audience, exp: now + ttlSeconds, nbf: now - 1, iat: now, jti: randomUUID(), access };
      const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
      return `${signingInput}.${base64url(sign('sha256', Buffer.from(signingInput), privateKey))}`;
    },
  };
}

/**
 * libtrust's key id, which distribution matches against the certificates in its bundle:
 * SHA-256 of the public key's DER (SPKI), first 240 bits, base32 without padding, groups of 4 joined by `:`.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const hash = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  const groups = base32(hash).match(/.{4}/g) ?? [];
  return groups.join(':');
}

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff; // at most 12 pending bits matter
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}
