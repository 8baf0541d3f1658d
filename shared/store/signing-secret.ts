import { randomBytes, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RelayError } from '../errors.ts';

/** 256 bits: the HMAC-SHA256 block-size guidance says a key as long as the output is enough. */
export const SIGNING_SECRET_BYTES = 32;
/** The file, in the store root, that keeps the secret across restarts so issued URLs stay valid. */
export const SIGNING_SECRET_FILE = 'signing-secret';

/**
 * Reads the store's URL-signing secret, creating a random one (mode 0600) on first use. The new
 * secret is written to a private temp name and hard-linked into place: link() fails if the file
 * exists, so two processes starting at once agree on one secret and nobody reads a half-written file.
 */
export async function loadSigningSecret(root: string): Promise<Buffer> {
  const path = join(root, SIGNING_SECRET_FILE);
  const existing = await readSecret(path);
  if (existing) return existing;
  await mkdir(root, { recursive: true });
  const temp = join(root, `.${SIGNING_SECRET_FILE}.${randomUUID()}`);
  await writeFile(temp, randomBytes(SIGNING_SECRET_BYTES), { mode: 0o600, flag: 'wx', flush: true });
  try {
    await link(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await rm(temp, { force: true });
  }
  const secret = await readSecret(path);
  if (!secret) throw new RelayError('CONFIG_INVALID', `could not create ${path}`);
  return secret;
}

async function readSecret(path: string): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (bytes.length < SIGNING_SECRET_BYTES) {
    throw new RelayError('CONFIG_INVALID', `${path} is shorter than ${SIGNING_SECRET_BYTES} bytes; delete it to make a new one`);
  }
  return bytes;
}
