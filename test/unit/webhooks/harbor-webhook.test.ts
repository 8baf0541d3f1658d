import { describe, expect, it } from 'vitest';
import { parseHarborWebhook } from '../../../functions/api/harbor-webhook.ts';
import { digestOf } from '../../../shared/digest.ts';

const index = digestOf('an index manifest');
const child = digestOf('a child manifest');
const repository = { date_created: 1700000000, name: 'app', namespace: 'team', repo_full_name: 'team/app', repo_type: 'private' };

/** Harbor 2.x Default payload. */
const defaultPayload = (type: string, resources: unknown[]) => ({ type, occur_at: 1700000000, operator: 'ci', event_data: { resources, repository } });
/** Harbor 2.8+ CloudEvents payload (structured mode). */
const cloudPayload = (type: string, resources: unknown[]) => ({
  specversion: '1.0',
  requestid: 'b5e8c7a0',
  id: '4b36b2bc-6a3b-4b0b-8f4b-5d8a0b1c2d3e',
  source: '/projects/2/webhook/policies/5',
  type,
  datacontenttype: 'application/json',
  time: '2024-01-01T00:00:00Z',
  data: { resources, repository },
  operator: 'ci',
});

describe('parseHarborWebhook', () => {
  it.each([
    ['Default', defaultPayload('PUSH_ARTIFACT', [{ digest: index, tag: 'v1', resource_url: 'harbor.example.com/team/app:v1' }]), 'default'],
    ['CloudEvents', cloudPayload('harbor.artifact.pushed', [{ digest: index, tag: 'v1', resource_url: 'harbor.example.com/team/app:v1' }]), 'cloudevents'],
  ])('reads a %s push: repository, digest and tag', (_, body, format) => {
    expect(parseHarborWebhook(body)).toEqual({ kind: 'push', format, repository: 'team/app', artifacts: [{ digest: index, tag: 'v1' }] });
  });

  it('treats a tag that holds a digest, an empty tag, or none as a push by digest (field case I3)', () => {
    const event = parseHarborWebhook(defaultPayload('PUSH_ARTIFACT', [{ digest: child, tag: child }, { digest: child, tag: '' }, { digest: child }]));
    expect(event).toMatchObject({ kind: 'push', artifacts: [{ digest: child }, { digest: child }, { digest: child }] });
    if (event.kind === 'push') expect(event.artifacts.every((artifact) => artifact.tag === undefined)).toBe(true);
  });

  it('never reads resource_url (field case I2): a resource_url naming another repository changes nothing', () => {
    const event = parseHarborWebhook(defaultPayload('PUSH_ARTIFACT', [{ digest: index, tag: 'v1', resource_url: 'evil.example.com/x/y@sha256:0' }]));
    expect(event).toMatchObject({ repository: 'team/app', artifacts: [{ digest: index, tag: 'v1' }] });
  });

  it.each([
    ['PULL_ARTIFACT', defaultPayload('PULL_ARTIFACT', [{ digest: index }])],
    ['DELETE_ARTIFACT', defaultPayload('DELETE_ARTIFACT', [{ digest: index }])],
    ['SCANNING_COMPLETED', { type: 'SCANNING_COMPLETED', event_data: { resources: [{ digest: index, scan_overview: {} }] } }],
    ['REPLICATION', { type: 'REPLICATION', event_data: { replication: { harbor_hostname: 'h' } } }],
    ['harbor.artifact.pulled', cloudPayload('harbor.artifact.pulled', [{ digest: index }])],
    ['harbor.scan.completed', { specversion: '1.0', type: 'harbor.scan.completed', data: {} }],
  ])('ignores %s', (type, body) => {
    expect(parseHarborWebhook(body)).toEqual({ kind: 'ignored', type });
  });

  it.each([
    ['not an object', 'hello', 'INVALID_REQUEST'],
    ['no type', { event_data: {} }, 'INVALID_REQUEST'],
    ['a push without repository', { type: 'PUSH_ARTIFACT', event_data: { resources: [{ digest: index }] } }, 'INVALID_REQUEST'],
    ['a push without resources', defaultPayload('PUSH_ARTIFACT', []), 'INVALID_REQUEST'],
    ['a resource without digest', defaultPayload('PUSH_ARTIFACT', [{ tag: 'v1' }]), 'INVALID_REQUEST'],
    ['a malformed digest', defaultPayload('PUSH_ARTIFACT', [{ digest: 'sha256:xyz', tag: 'v1' }]), 'INVALID_DIGEST'],
    ['an unknown digest algorithm', defaultPayload('PUSH_ARTIFACT', [{ digest: `md5:${'a'.repeat(32)}`, tag: 'v1' }]), 'UNSUPPORTED_DIGEST_ALGORITHM'],
    ['more than 100 resources', defaultPayload('PUSH_ARTIFACT', Array.from({ length: 101 }, () => ({ digest: index, tag: 'v1' }))), 'INVALID_REQUEST'],
  ])('refuses %s', (_, body, code) => {
    expect(() => parseHarborWebhook(body)).toThrow(expect.objectContaining({ code }));
  });
});
