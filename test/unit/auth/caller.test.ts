import { describe, expect, it } from 'vitest';
import { readBasicCredentials, readBearerToken } from '../../../shared/auth/caller.ts';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('readBasicCredentials', () => {
  it.each([
    ['a robot account with $ and +', `Basic ${b64('robot$team+relay:s3cret')}`, { username: 'robot$team+relay', password: 's3cret' }],
    ['a password holding colons', `Basic ${b64('alice:a:b:c')}`, { username: 'alice', password: 'a:b:c' }],
    ['an empty password', `Basic ${b64('alice:')}`, { username: 'alice', password: '' }],
    ['UTF-8 and a lower-case scheme', `basic ${b64('jürgen:pässwort')}`, { username: 'jürgen', password: 'pässwort' }],
  ])('reads %s', (_, header, expected) => {
    expect(readBasicCredentials(header)).toEqual(expected);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['another scheme', `Bearer ${b64('alice:x')}`],
    ['no colon', `Basic ${b64('alice')}`],
    ['an empty user name', `Basic ${b64(':password')}`],
    ['characters outside base64', 'Basic alice:password'],
    ['two credentials', `Basic ${b64('a:b')} ${b64('c:d')}`],
  ])('refuses %s', (_, header) => {
    expect(readBasicCredentials(header)).toBeUndefined();
  });
});

describe('readBearerToken', () => {
  it.each([
    ['Bearer abc.def-ghi_jkl~', 'abc.def-ghi_jkl~'],
    ['bearer  padded==', 'padded=='],
    ['Bearer', undefined],
    ['Basic abc', undefined],
    ['Bearer a b', undefined],
    [undefined, undefined],
  ])('%s → %s', (header, expected) => {
    expect(readBearerToken(header)).toBe(expected);
  });
});
