import { randomBytes, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RelayError } from '../errors.ts';

/** 256 bits: an HMAC-SHA256 key as long as its output (RFC 2104 §3's recommended minimum). */
export const SIGNING_SECRET_BYTES = 32;
/** The file, in the store root, that keeps the secret across restarts so issued URLs stay valid. */
export const SIGNING_SECRET_FILE = 'signing-secret';

/**
 * Reads the store's URL-signing secret, creating a random one (mode 0600) on first use. Synchronous:
 * it runs once at startup. The new secret is written under a private temp name and hard-linked into
 * place; link() fails if the file exists, so two processes starting at once agree on one secret and
 * nobody reads a half-written file.
 */
export function loadSigningSecret(root: string): Buffer {
  const path = join(root, SIGNING_SECRET_FILE);
  const existing = readSecret(path);
  if (existing) return existing;
  mkdirSync(root, { recursive: true });
  const temp = join(root, `.${SIGNING_SECRET_FILE}.${randomUUID()}`);
  writeFileSync(temp, randomBytes(SIGNING_SECRET_BYTES), { mode: 0o600, flag: 'wx', flush: true });
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  const secret = readSecret(path);
  if (!secret) throw new RelayError('CONFIG_INVALID', `could not create ${path}`);
  return secret;
}

function readSecret(path: string): Buffer | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (bytes.length < SIGNING_SECRET_BYTES) {
    throw new RelayError('CONFIG_INVALID', `${path} is shorter than ${SIGNING_SECRET_BYTES} bytes; delete it to make a new one`);
  }
  return bytes;
}
