/** An inclusive byte range within an object, as HTTP writes it (RFC 9110 §14.1.2). */
export interface ByteRange {
  start: number;
  end: number;
}

/** What a Range header asks of an object of `size` bytes. */
export type RangeRequest =
  | { kind: 'whole' }
  | { kind: 'partial'; range: ByteRange }
  | { kind: 'unsatisfiable' };

const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*$/i;

/**
 * Parses a Range header for one object. Only a single range is honoured: a multi-range request, an
 * unknown unit or a malformed value is ignored and answered whole, as RFC 9110 §14.2 allows ("a
 * server MAY ignore the Range header field"). A well-formed range starting at or past the end is
 * unsatisfiable (§15.5.17).
 */
export function parseByteRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'whole' };
  const match = SINGLE_RANGE.exec(header.trim());
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // `-n`: the last n bytes; a suffix longer than the object is the whole object.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  // `a-b` with b < a is invalid syntax (ignored); `a-` runs to the end.
  if (last !== '' && Number(last) < start) return { kind: 'whole' };
  if (start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  return { kind: 'partial', range: { start, end } };
}
