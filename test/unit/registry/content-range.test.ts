import { describe, expect, it } from 'vitest';
import { parseContentRange } from '../../../shared/registry/content-range.ts';

describe('parseContentRange', () => {
  it.each([
    ['bytes 100-199/200', { first: 100, last: 199, complete: 200 }],
    ['bytes 0-0/1', { first: 0, last: 0, complete: 1 }],
    ['bytes 5-9/*', { first: 5, last: 9, complete: undefined }],
    ['BYTES 1-2/3', { first: 1, last: 2, complete: 3 }],
  ])('reads %s', (header, expected) => {
    expect(parseContentRange(header)).toEqual(expected);
  });

  it.each([undefined, '', 'bytes */200', 'bytes 10-5/200', 'bytes 0-200/200', 'items 0-1/2', 'bytes 1-2/3, bytes 4-5/6', 'bytes -1-2/3'])(
    'refuses %s',
    (header) => {
      expect(parseContentRange(header)).toBeUndefined();
    },
  );
});
