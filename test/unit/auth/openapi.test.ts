import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApiApp } from '../../../functions/api/app.ts';
import { HarborWebhookSchema } from '../../../functions/api/harbor-webhook.ts';
import { PullRequestSchema } from '../../../functions/api/pull-request.ts';
import { createStatusApp } from '../../../functions/status/app.ts';
import { silentLogger } from '../../../shared/log.ts';

const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('not used')) }) as never;
const api = createApiApp({ allowedRegistry: 'harbor.example.com', records: unused, queue: unused, store: unused, urlTtlSeconds: 60, log: silentLogger });
const status = createStatusApp({ records: unused, store: unused, urlTtlSeconds: 60, log: silentLogger });

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document served without credentials', async () => {
    const response = await api.request('/openapi.json');
    expect(response.status).toBe(200);
    const doc = (await response.json()) as { openapi: string; jsonSchemaDialect: string };
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.jsonSchemaDialect).toBe('https://json-schema.org/draft/2020-12/schema');
  });

  it('describes request bodies with the very zod schemas the routes validate with', async () => {
    const doc = (await (await api.request('/openapi.json')).json()) as { components: { schemas: Record<string, Record<string, unknown>> } };
    const { $schema: _a, ...pull } = z.toJSONSchema(PullRequestSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
    expect(doc.components.schemas.PullRequest).toEqual(pull);
    expect(doc.components.schemas.PullRequest).toMatchObject({ required: ['image'], additionalProperties: false });
    const { $schema: _b, ...webhook } = z.toJSONSchema(HarborWebhookSchema, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
    expect(doc.components.schemas.HarborWebhook).toEqual(webhook);
  });

  it('documents every route the api and status apps serve', async () => {
    const doc = (await (await api.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    const routes = [...api.routes, ...status.routes].filter((r) => r.method !== 'ALL').map((r) => [r.path.replace(/:(\w+)/g, '{$1}'), r.method.toLowerCase()] as const);
    expect(routes.length).toBeGreaterThanOrEqual(5);
    for (const [path, method] of routes) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });

  it('fails closed when an entry point wires no access control: 500, nothing read', async () => {
    const response = await api.request('/v1/pulls', { method: 'POST', body: '{"image":"harbor.example.com/team/app:1"}', headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(500);
    expect((await status.request('/v1/blobs/sha256:' + 'a'.repeat(64))).status).toBe(500);
  });
});
