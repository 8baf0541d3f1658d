import { pack, type Header } from 'tar-stream';

/** One raw tar entry: any header tar-stream can write (links, devices, `../` names...). */
export type CraftedEntry = Partial<Header> & { name: string; body?: string | Buffer };

/** A tar of exactly these entries, as written: the malicious cases need names no builder would allow. */
export async function craftTar(entries: readonly CraftedEntry[]): Promise<Buffer> {
  const archive = pack();
  for (const { body, ...header } of entries) archive.entry({ mtime: new Date('2024-01-01T00:00:00Z'), ...header }, body ?? '');
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
