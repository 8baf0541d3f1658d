import { describe, expect, it } from 'vitest';
import { REDACTED, redactHeaders, redactUrl } from '../../shared/redact.ts';

describe('redactUrl', () => {
  it.each([
    [
      'a presigned S3 URL keeps nothing of its signature',
      'https://bucket.s3.amazonaws.com/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20250101&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok',
      'https://bucket.s3.amazonaws.com/docker/registry/v2/blobs/sha256/ab/abc/data?X-Amz-Algorithm=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED',
    ],
    [
      'token URL keeps scope and service',
      'https://harbor.example/service/token?service=harbor-registry&scope=repository%3Ap%2Fapp%3Apull&account=robot%24p%2Bci',
      'https://harbor.example/service/token?service=harbor-registry&scope=repository%3Ap%2Fapp%3Apull&account=REDACTED',
    ],
    ['userinfo is dropped', 'https://robot$p+ci:s3cret@harbor.example/v2/', 'https://harbor.example/v2/'],
    ['fragments are dropped', 'https://h/x#token=abc', 'https://h/x'],
    ['list pagination keys are kept', 'https://h/v2/p/app/tags/list?n=10&last=v1', 'https://h/v2/p/app/tags/list?n=10&last=v1'],
    ['a relative Location is redacted too', '/v2/p/app/blobs/x?sig=abc&digest=sha256:1', '/v2/p/app/blobs/x?sig=REDACTED&digest=sha256%3A1'],
  ])('%s', (_name, input, want) => {
    expect(redactUrl(input)).toBe(want);
  });

  it('accepts URL objects and never throws on garbage', () => {
    expect(redactUrl(new URL('https://u:p@h/a?k=v'))).toBe('https://h/a?k=REDACTED');
    expect(() => redactUrl('http://[::1')).not.toThrow();
  });
});

describe('redactHeaders', () => {
  it('hides credentials and storage signing headers, redacts Location, keeps the rest', () => {
    const out = redactHeaders({
      Authorization: 'Bearer eyJhbGciOi',
      'proxy-authorization': 'Basic dTpw',
      cookie: 'sid=1',
      'set-cookie': ['a=1', 'b=2'],
      'x-amz-security-token': 'FwoG',
      'X-Amz-Date': '20250101T000000Z',
      location: 'https://s3/x?X-Amz-Signature=abc',
      'content-type': 'application/json',
      'content-length': 12,
      'www-authenticate': 'Bearer realm="https://h/service/token"',
      skipped: undefined,
    });
    expect(out).toEqual({
      Authorization: REDACTED,
      'proxy-authorization': REDACTED,
      cookie: REDACTED,
      'set-cookie': REDACTED,
      'x-amz-security-token': REDACTED,
      'X-Amz-Date': REDACTED,
      location: 'https://s3/x?X-Amz-Signature=REDACTED',
      'content-type': 'application/json',
      'content-length': '12',
      'www-authenticate': 'Bearer realm="https://h/service/token"',
    });
  });
});
