/**
 * Reads a small response body (manifest, token, error) into memory, never more than `cap` bytes:
 * a registry or proxy that streams without end cannot exhaust memory. Blobs are never read this way.
 */
export async function readCapped(body: AsyncIterable<Uint8Array>, cap: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    if (length > cap) return undefined; // leaving the loop destroys the stream: the rest is never read
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, length);
}
