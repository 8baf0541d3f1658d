import { randomBytes } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Moves the finished tree `fresh` to `dir` (both in one parent directory, so rename(2) is atomic).
 * A missing or empty `dir` is replaced in one rename. A populated one is renamed aside, `fresh`
 * renamed in, and the old tree removed; if the second rename fails the old tree goes back.
 * Between the two renames `dir` is briefly absent: POSIX has no atomic directory swap, and Linux's
 * renameat2(RENAME_EXCHANGE) is not reachable from Node. Readers never see a mixed tree.
 */
export async function replaceDirectory(fresh: string, dir: string): Promise<void> {
  try {
    await rename(fresh, dir);
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  const aside = join(dirname(dir), `.${basename(dir)}.layer-relay-old-${randomBytes(4).toString('hex')}`);
  await rename(dir, aside);
  try {
    await rename(fresh, dir);
  } catch (err) {
    await rename(aside, dir);
    throw err;
  }
  await rm(aside, { recursive: true, force: true });
}
