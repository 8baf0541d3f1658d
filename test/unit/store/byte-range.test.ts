import { describe, expect, it } from 'vitest';
import { parseByteRange, type RangeRequest } from '../../../shared/store/byte-range.ts';

const whole: RangeRequest = { kind: 'whole' };
const unsatisfiable: RangeRequest = { kind: 'unsatisfiable' };
const part = (start: number, end: number): RangeRequest => ({ kind: 'partial', range: { start, end } });

describe('parseByteRange (object of 100 bytes unless said)', () => {
  it.each<[string | undefined, RangeRequest, number?]>([
    [undefined, whole],
    ['bytes=0-9', part(0, 9)],
    ['bytes=10-', part(10, 99)],
    ['bytes=-10', part(90, 99)],
    ['bytes=-1000', part(0, 99)],
    ['bytes=50-1000', part(50, 99)],
    ['bytes=99-99', part(99, 99)],
    ['BYTES = 1 - 2', part(1, 2)],
    ['bytes=100-', unsatisfiable],
    ['bytes=100-200', unsatisfiable],
    ['bytes=-0', unsatisfiable],
    ['bytes=0-', unsatisfiable, 0],
    ['bytes=-5', unsatisfiable, 0],
    ['bytes=0-1,5-6', whole],
    ['bytes=5-3', whole],
    ['bytes=-', whole],
    ['items=0-1', whole],
    ['bytes=a-b', whole],
    ['', whole],
  ])('%j → %j', (header, expected, size = 100) => {
    expect(parseByteRange(header, size)).toEqual(expected);
  });
});
