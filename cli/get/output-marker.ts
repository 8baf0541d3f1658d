import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseImageRef } from '../../shared/image-ref.ts';

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

/** The marker layer-relay wrote in `dir`, or undefined when there is none (or it is not ours). */
export async function readOutputMarker(dir: string): Promise<OutputMarker | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, OUTPUT_MARKER), 'utf8')) as Partial<OutputMarker>;
    return parsed.tool === 'layer-relay' && typeof parsed.image === 'string' ? (parsed as OutputMarker) : undefined;
  } catch {
    return undefined;
  }
}

/** `registry/repository` of the image a marker records (tag and digest change with every release), or undefined. */
export function markerRepository(marker: OutputMarker): string | undefined {
  try {
    const ref = parseImageRef(marker.image);
    return `${ref.registry}/${ref.repository}`;
  } catch {
    return undefined;
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
