/**
 * `Content-Range` of a 206 answer (RFC 9110 §14.4): `bytes FIRST-LAST/COMPLETE`, COMPLETE may be `*`.
 * A resumed blob download accepts a 206 only when it starts exactly where we stopped (field case F1).
 */

/** A parsed byte range; `complete` is undefined for `/*`. */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly complete: number | undefined;
}

const SHAPE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i;

/** The range a `Content-Range` header names, or undefined when it is absent, malformed or incoherent. */
export function parseContentRange(header: string | readonly string[] | undefined): ContentRange | undefined {
  const text = (typeof header === 'string' ? header : header?.[0])?.trim();
  const match = text === undefined ? null : SHAPE.exec(text);
  if (!match) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  const complete = match[3] === '*' ? undefined : Number(match[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return undefined;
  if (complete !== undefined && (!Number.isSafeInteger(complete) || last >= complete)) return undefined;
  return { first, last, complete };
}
