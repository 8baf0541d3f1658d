import { describe, expect, it } from 'vitest';
import { digestOf } from '../../shared/digest.ts';
import { canonicalRegistry, formatImageRef, manifestReference, parseImageRef } from '../../shared/image-ref.ts';

const digest = digestOf('manifest bytes');

describe('parseImageRef', () => {
  it.each([
    ['harbor.example.com/team/app:1.4.2', { registry: 'harbor.example.com', repository: 'team/app', tag: '1.4.2' }],
    ['harbor.example.com:8443/team/tools/app', { registry: 'harbor.example.com:8443', repository: 'team/tools/app' }],
    ['127.0.0.1:5000/team/app:v1', { registry: '127.0.0.1:5000', repository: 'team/app', tag: 'v1' }],
    ['localhost/team/app', { registry: 'localhost', repository: 'team/app' }],
    [`harbor.example.com/team/app@${digest}`, { registry: 'harbor.example.com', repository: 'team/app', digest }],
    [`harbor.example.com/team/app:1.0@${digest}`, { registry: 'harbor.example.com', repository: 'team/app', tag: '1.0', digest }],
    ['Harbor.Example.com/team/my_app.v2-x:latest', { registry: 'harbor.example.com', repository: 'team/my_app.v2-x', tag: 'latest' }],
    ['[::1]:5000/team/app:1', { registry: '[::1]:5000', repository: 'team/app', tag: '1' }],
    ['harbor.example.com:443/team/app:1', { registry: 'harbor.example.com', repository: 'team/app', tag: '1' }],
    ['harbor.example.com:80/team/app', { registry: 'harbor.example.com', repository: 'team/app' }],
    ['harbor.example.com:4430/team/app', { registry: 'harbor.example.com:4430', repository: 'team/app' }],
    ['[::1]:443/team/app', { registry: '[::1]', repository: 'team/app' }],
  ])('parses %s', (input, expected) => {
    expect(parseImageRef(input)).toEqual(expected);
  });

  it.each([
    ['', /empty/],
    ['team/app:1', /must start with the registry host/],
    ['app', /must start with the registry host/],
    ['harbor.example.com/app:1', /PROJECT\/REPO/],
    ['harbor.example.com/Team/app', /lower-case/],
    ['harbor.example.com/team/app:bad tag', /tag/],
    ['harbor.example.com/team//app', /component/],
    ['harbor.example.com/team/app@sha256:abc', /sha256 digest must be 64/],
    [`harbor.example.com/team/app@md5:${'a'.repeat(32)}`, /not supported/],
    ['-bad-.com/team/app', /not a valid host/],
    ['harbor.example.com/team/../etc', /component/],
    ['user:pw@harbor.example.com/team/x:v1', /credentials do not belong in an image reference/],
    ['robot$team+ci@harbor.example.com/team/x', /credentials do not belong in an image reference/],
    [`https://user:pw@harbor.example.com/team/x@${digest}`, /credentials do not belong in an image reference/],
    [`harbor.example.com@${digest}`, /must start with the registry host/],
  ])('refuses %j with a message that says why', (input, message) => {
    expect(() => parseImageRef(input)).toThrow(expect.objectContaining({ code: 'INVALID_IMAGE_REF', message: expect.stringMatching(message) }));
  });

  it('never repeats the credentials of a reference that carries them', () => {
    expect(() => parseImageRef('alice:hunter2-secret@harbor.example.com/team/x:v1')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2-secret') }));
    expect(() => parseImageRef('alice:hunter2-secret@harbor.example.com/team/x:v1')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('alice') }));
  });
});

describe('formatImageRef', () => {
  it.each([
    ['harbor.example.com/team/app:1', 'harbor.example.com/team/app:1'],
    ['Harbor.Example.com/team/app', 'harbor.example.com/team/app:latest'],
    ['harbor.example.com:443/team/app:latest', 'harbor.example.com/team/app:latest'],
    [`h.io:5000/a/b/c:2@${digest}`, `h.io:5000/a/b/c@${digest}`],
    [`h.io:5000/a/b/c@${digest}`, `h.io:5000/a/b/c@${digest}`],
  ])('writes %s as %s', (input, canonical) => {
    expect(formatImageRef(parseImageRef(input))).toBe(canonical);
  });

  it.each([
    ['harbor.example.com/team/app', 'harbor.example.com/team/app:latest'],
    ['harbor.example.com:443/team/app:v1', 'harbor.example.com/team/app:v1'],
    [`harbor.example.com/team/app:v1@${digest}`, `harbor.example.com/team/app@${digest}`],
    [`harbor.example.com/team/app:v1@${digest}`, `harbor.example.com/team/app:v2@${digest}`],
  ])('gives equivalent references one identity: %s ≡ %s', (a, b) => {
    expect(formatImageRef(parseImageRef(a))).toBe(formatImageRef(parseImageRef(b)));
  });

  it('keeps references that name different content apart', () => {
    expect(formatImageRef(parseImageRef('h.io/a/b:v1'))).not.toBe(formatImageRef(parseImageRef('h.io/a/b:v2')));
    expect(formatImageRef(parseImageRef('h.io/a/b:v1'))).not.toBe(formatImageRef(parseImageRef(`h.io/a/b@${digest}`)));
    expect(formatImageRef(parseImageRef('h.io:8443/a/b'))).not.toBe(formatImageRef(parseImageRef('h.io/a/b')));
  });
});

describe('canonicalRegistry', () => {
  it.each([
    ['harbor.example.com', 'harbor.example.com'],
    ['Harbor.Example.com:443', 'harbor.example.com'],
    ['harbor.example.com:80', 'harbor.example.com'],
    ['harbor.example.com:8443', 'harbor.example.com:8443'],
    ['127.0.0.1:5000', '127.0.0.1:5000'],
    ['[::1]:443', '[::1]'],
  ])('%s → %s', (input, canonical) => {
    expect(canonicalRegistry(input)).toBe(canonical);
  });
});

describe('manifestReference', () => {
  it('asks the registry for the digest when pinned, else the tag, else latest', () => {
    expect(manifestReference(parseImageRef(`h.io/a/b:1@${digest}`))).toBe(digest);
    expect(manifestReference(parseImageRef('h.io/a/b:1'))).toBe('1');
    expect(manifestReference(parseImageRef('h.io/a/b'))).toBe('latest');
  });
});
