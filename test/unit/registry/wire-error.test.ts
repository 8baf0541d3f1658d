import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { MAX_ERROR_BODY_BYTES, networkError, parseRetryAfter, parseWireErrors, readWireErrors, registryError, type RegistryErrorContext } from '../../../shared/registry/wire-error.ts';

const manifest: RegistryErrorContext = { operation: 'manifest', registry: 'harbor.example', repository: 'p/app', reference: 'v1' };
const blob: RegistryErrorContext = { operation: 'blob', registry: 'harbor.example', repository: 'p/app', reference: `sha256:${'a'.repeat(64)}` };
const body = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
const errs = (code: string, message = 'm') => parseWireErrors(body({ errors: [{ code, message, detail: { x: 1 } }] }));

describe('readWireErrors / parseWireErrors', () => {
  it('reads distribution error bodies', async () => {
    const errors = await readWireErrors(Readable.from([body({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown', detail: { Tag: 'v9' } }] })]));
    expect(errors).toEqual([{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }]);
  });

  it.each([
    ['HTML', '<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>'],
    ['empty', ''],
    ['JSON without errors', '{"message":"x"}'],
    ['errors not an array', '{"errors":"x"}'],
    ['null', 'null'],
  ])('tolerates %s bodies', async (_name, text) => {
    await expect(readWireErrors(Readable.from([body(text)]))).resolves.toEqual([]);
  });

  it('tolerates a missing body and one that errors mid-way', async () => {
    await expect(readWireErrors(undefined)).resolves.toEqual([]);
    const broken = new Readable({ read() { this.destroy(new Error('ECONNRESET')); } });
    await expect(readWireErrors(broken)).resolves.toEqual([]);
  });

  it('stops reading at the cap instead of buffering an endless body', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 16 * 1024;
        this.push(Buffer.alloc(16 * 1024, 0x20));
      },
    });
    await expect(readWireErrors(endless)).resolves.toEqual([]);
    expect(produced).toBeLessThan(MAX_ERROR_BODY_BYTES * 4);
    expect(endless.destroyed).toBe(true);
  });
});

describe('registryError: status and code → RelayError', () => {
  const cases: Array<{ name: string; status: number; errors: ReturnType<typeof errs>; context: RegistryErrorContext; code: string; retryable: boolean; mentions?: string }> = [
    { name: 'manifest 404 MANIFEST_UNKNOWN', status: 404, errors: errs('MANIFEST_UNKNOWN', 'manifest unknown'), context: manifest, code: 'IMAGE_NOT_FOUND', retryable: false, mentions: 'harbor.example/p/app:v1' },
    { name: "Harbor's 404 NOT_FOUND for a missing tag (H1)", status: 404, errors: errs('NOT_FOUND', 'artifact p/app:v1 not found'), context: manifest, code: 'IMAGE_NOT_FOUND', retryable: false, mentions: 'artifact p/app:v1 not found' },
    { name: 'manifest 404 with an HTML body', status: 404, errors: [], context: manifest, code: 'IMAGE_NOT_FOUND', retryable: false },
    { name: 'NAME_UNKNOWN with a non-404 status', status: 400, errors: errs('NAME_UNKNOWN'), context: manifest, code: 'IMAGE_NOT_FOUND', retryable: false },
    { name: 'blob 404 BLOB_UNKNOWN', status: 404, errors: errs('BLOB_UNKNOWN'), context: blob, code: 'BLOB_NOT_FOUND', retryable: false, mentions: `harbor.example/p/app@sha256:` },
    { name: 'blob 404 empty body', status: 404, errors: [], context: blob, code: 'BLOB_NOT_FOUND', retryable: false },
    { name: "Harbor's 401 unauthorized (H2)", status: 401, errors: errs('UNAUTHORIZED', 'unauthorized to access repository: p/app, action: pull'), context: manifest, code: 'DENIED', retryable: false, mentions: 'credentials rejected or no pull permission for p/app' },
    { name: '401 says denied or not found', status: 401, errors: [], context: blob, code: 'DENIED', retryable: false, mentions: 'denied or not found' },
    { name: '403 DENIED', status: 403, errors: errs('DENIED', 'requested access to the resource is denied'), context: manifest, code: 'DENIED', retryable: false },
    { name: '429 TOOMANYREQUESTS', status: 429, errors: errs('TOOMANYREQUESTS'), context: blob, code: 'RATE_LIMITED', retryable: true },
    { name: '500 HTML', status: 500, errors: [], context: manifest, code: 'REGISTRY_UNAVAILABLE', retryable: true },
    { name: '502 from a proxy', status: 502, errors: [], context: blob, code: 'REGISTRY_UNAVAILABLE', retryable: true },
    { name: '503', status: 503, errors: errs('UNAVAILABLE'), context: manifest, code: 'REGISTRY_UNAVAILABLE', retryable: true },
    { name: '408', status: 408, errors: [], context: manifest, code: 'REGISTRY_UNAVAILABLE', retryable: true },
    { name: '400 MANIFEST_INVALID', status: 400, errors: errs('MANIFEST_INVALID'), context: manifest, code: 'REGISTRY_ERROR', retryable: false },
    { name: 'token 401', status: 401, errors: [], context: { operation: 'token', registry: 'h' }, code: 'DENIED', retryable: false, mentions: 'token service' },
    { name: 'ping 404: not a registry', status: 404, errors: [], context: { operation: 'ping', registry: 'h' }, code: 'REGISTRY_ERROR', retryable: false, mentions: '/v2/' },
    { name: 'storage 403 (expired signature): retry with a fresh redirect', status: 403, errors: [], context: { ...blob, operation: 'storage' }, code: 'REGISTRY_ERROR', retryable: true },
    { name: 'storage 400 (two auth mechanisms): final', status: 400, errors: [], context: { ...blob, operation: 'storage' }, code: 'REGISTRY_ERROR', retryable: false },
    { name: 'storage 404', status: 404, errors: [], context: { ...blob, operation: 'storage' }, code: 'BLOB_NOT_FOUND', retryable: false },
  ];
  it.each(cases)('$name → $code', ({ status, errors, context, code, retryable, mentions }) => {
    const err = registryError(status, errors, context);
    expect(err.code).toBe(code);
    expect(err.retryable).toBe(retryable);
    if (mentions) expect(err.message).toContain(mentions);
    expect(err.details).toMatchObject({ registry: context.registry, status });
  });

  it('429 carries Retry-After in seconds', () => {
    expect(registryError(429, [], { ...blob, retryAfter: '7' }).retryAfterMs).toBe(7000);
  });

  it('503 carries Retry-After as an HTTP-date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    const err = registryError(503, [], { ...manifest, retryAfter: 'Wed, 01 Jan 2025 00:00:30 GMT', now: () => now });
    expect(err.retryAfterMs).toBe(30_000);
  });

  it('puts only a redacted URL in details', () => {
    const err = registryError(403, [], { ...blob, operation: 'storage', url: 'https://s3.example/b?X-Amz-Signature=secret&X-Amz-Credential=AKIA' });
    expect(JSON.stringify(err.details)).not.toContain('secret');
    expect(JSON.stringify(err.details)).not.toContain('AKIA');
  });

  it('caps a long registry message', () => {
    const err = registryError(400, errs('X', 'y'.repeat(10_000)), manifest);
    expect(err.message.length).toBeLessThan(600);
  });
});

describe('networkError', () => {
  const withCode = (code: string, name = 'Error') => Object.assign(new Error(`boom ${code}`), { code, name });
  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'])(
    '%s → REGISTRY_UNAVAILABLE, retryable',
    (code) => {
      const err = networkError(withCode(code), manifest);
      expect(err.code).toBe('REGISTRY_UNAVAILABLE');
      expect(err.retryable).toBe(true);
    },
  );

  it('finds the code on a cause (undici wraps socket errors)', () => {
    const wrapped = new TypeError('fetch failed', { cause: withCode('ECONNRESET') });
    expect(networkError(wrapped, manifest).code).toBe('REGISTRY_UNAVAILABLE');
  });

  it('treats an abort timeout as unavailable', () => {
    expect(networkError(Object.assign(new Error('t'), { name: 'TimeoutError' }), manifest).code).toBe('REGISTRY_UNAVAILABLE');
  });

  it.each(['ERR_SSL_WRONG_VERSION_NUMBER', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID', 'EPROTO'])(
    '%s (TLS) → REGISTRY_ERROR naming the host and the code, with a hint, not retried',
    (code) => {
      const err = networkError(new TypeError('fetch failed', { cause: withCode(code) }), { ...manifest, url: 'https://storage.example:8443/b?X-Amz-Signature=secret' });
      expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: false });
      expect(err.message).toContain(`TLS with storage.example:8443 failed (${code})`);
      expect(err.message).toMatch(/certificate/);
      expect(err.message).not.toContain('secret');
    },
  );

  it('an answer that is not HTTP (HPE_*) is REGISTRY_ERROR, not INTERNAL', () => {
    const err = networkError(withCode('HPE_INVALID_CONSTANT'), manifest);
    expect(err).toMatchObject({ code: 'REGISTRY_ERROR', retryable: false });
    expect(err.message).toContain('HPE_INVALID_CONSTANT');
  });

  it('a programming error is INTERNAL, not retried', () => {
    const err = networkError(withCode('UND_ERR_INVALID_ARG'), manifest);
    expect(err.code).toBe('INTERNAL');
    expect(err.retryable).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  it.each([
    ['0', 0],
    ['120', 120_000],
    [' 5 ', 5000],
    ['Wed, 01 Jan 2025 00:01:00 GMT', 60_000],
    ['Tue, 31 Dec 2024 23:00:00 GMT', 0],
    ['Sunday, 31-Dec-24 23:59:30 GMT', 0],
    ['Wednesday, 01-Jan-25 00:00:30 GMT', 30_000],
    ['Wed Jan  1 00:00:45 2025', 45_000],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
    // V8's Date.parse reads each of these as a date long past, which was a zero wait: all malformed.
    ['1.5', undefined],
    ['-1', undefined],
    ['+5', undefined],
    ['10, 20', undefined],
    ['abc 1', undefined],
    ['in 5 minutes 2', undefined],
    ['2025-01-01T00:01:00Z', undefined],
    ['Wed, 01 Jan 2025 00:01:00 PST', undefined],
    ['Wed, 1 Jan 2025 00:01:00 GMT', undefined],
    ['Wed, 32 Jan 2025 00:01:00 GMT', undefined],
  ])('%s → %s', (value, want) => {
    expect(parseRetryAfter(value, now)).toBe(want);
  });
});
