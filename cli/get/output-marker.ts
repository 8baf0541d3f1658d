import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The file `get` leaves in DIR on success. Its presence is how a later `get` knows that replacing
 * a non-empty DIR destroys only an earlier copy, not someone's data (h2 finding B5).
 */
export const OUTPUT_MARKER = '.layer-relay.json';

/** What the marker records: enough for a person to see which image is deployed there. */
export interface OutputMarker {
  tool: 'layer-relay';
  image: string;
  platform: string;
  manifestDigest: string;
}

/** True when `dir` holds a marker that layer-relay wrote (any image). */
export async function hasOutputMarker(dir: string): Promise<boolean> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OUTPUT_MARKER), 'utf8')) as { tool?: unknown };
    return parsed.tool === 'layer-relay';
  } catch {
    return false;
  }
}

/**
 * Writes the marker into the finished tree `dir`. Whatever a layer put at that name goes first, and
 * the new file is created exclusively: a layer's symlink named `.layer-relay.json` must not make us
 * write through it to a path outside DIR.
 */
export async function writeOutputMarker(dir: string, marker: Omit<OutputMarker, 'tool'>): Promise<void> {
  const path = join(dir, OUTPUT_MARKER);
  await rm(path, { recursive: true, force: true });
  // No timestamp: the same image gives the same tree, whichever way it was fetched.
  const body: OutputMarker = { tool: 'layer-relay', ...marker };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`, { flag: 'wx', mode: 0o644 });
}
