import { z } from 'zod';
import { ERROR_CODES } from '../../shared/errors.ts';
import { HarborWebhookSchema } from './harbor-webhook.ts';
import { PullRequestSchema } from './pull-request.ts';

/**
 * The OpenAPI 3.1 document of the relay's HTTP API. Request bodies are the very zod schemas the
 * routes validate with (PullRequestSchema, HarborWebhookSchema), turned into JSON Schema 2020-12 —
 * OpenAPI 3.1's own dialect — by zod's `z.toJSONSchema`; response schemas are zod schemas beside
 * them (tests parse real answers with them); the paths are assembled here by hand.
 * A generator library would add a dependency and route wrappers for six routes.
 */

const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]).describe('stable code');

const ErrorBodySchema = z.strictObject({
  error: z.strictObject({
    code: ErrorCodeSchema,
    message: z.string().describe('what to fix; generic for 5xx (details are in the relay log under requestId)'),
    requestId: z.string(),
  }),
});

const OutcomeSchema = z.strictObject({ code: ErrorCodeSchema, message: z.string() });

const LayerSchema = z.strictObject({
  digest: z.string(),
  size: z.number().int(),
  mediaType: z.string(),
  url: z.string().optional().describe('signed URL, on done pulls only'),
  expiresAt: z.string().optional(),
});

const FileSchema = z.strictObject({
  path: z.string().describe('path inside the layer, normalised (bin/app)'),
  size: z.number().int(),
  digest: z.string().describe("digest of the file's own bytes"),
  mode: z.number().int().describe('permission bits, at most 0755'),
  url: z.string().optional().describe('signed URL, on done pulls only'),
  expiresAt: z.string().optional(),
});

/**
 * A pull record as the API answers it (shared/pull-record.ts's PullRecord, served). Response schemas
 * are written here rather than derived from the TypeScript interfaces (types are erased at run time);
 * the end-to-end tests parse every answer they get with these strict schemas, so a field the relay
 * sends and this document lacks fails a test.
 */
export const PullRecordSchema = z.strictObject({
  id: z.string(),
  image: z.string(),
  platform: z.string(),
  state: z.enum(['queued', 'running', 'done', 'failed']),
  manifestDigest: z.string().optional(),
  layers: z.array(LayerSchema),
  files: z.array(FileSchema).optional().describe('single-layer images only: each regular file of the layer, stored on its own'),
  filesError: OutcomeSchema.optional().describe('why a single-layer image has no files listing; the pull is still done'),
  bytesDone: z.number().int().optional(),
  bytesTotal: z.number().int().optional(),
  error: OutcomeSchema.optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The answer of GET /v1/blobs/:digest. */
export const BlobAnswerSchema = z.strictObject({
  digest: z.string(),
  size: z.number().int(),
  mediaType: z.string().optional(),
  url: z.string().describe('short-lived signed URL naming this one object'),
  expiresAt: z.string(),
});

const WebhookAnswerSchema = z.object({
  accepted: z.boolean(),
  ignored: z.string().optional().describe('the event type, when it is not a push'),
  pulls: z
    .array(z.object({ id: z.string(), image: z.string(), platform: z.string(), state: z.string(), queued: z.boolean() }))
    .optional(),
  skipped: z.array(z.object({ digest: z.string(), reason: z.string() })).optional(),
});

const HealthSchema = z.object({ ok: z.literal(true) });

/** JSON Schema (2020-12) of a zod schema, as the request validates it. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const json = (ref: string) => ({ 'application/json': { schema: { $ref: `#/components/schemas/${ref}` } } });
const error = (description: string) => ({ description, content: json('Error') });
const denied = {
  '401': error('no or wrong credentials; carries WWW-Authenticate'),
  '403': error('FORBIDDEN: the caller may not pull the repository'),
};

/** Builds the document served at GET /openapi.json. */
export function createOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'layer-relay',
      version: '0.1.0',
      description: 'Relays layers from Harbor into object storage, verified by digest, and hands out short-lived signed URLs.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    components: {
      securitySchemes: {
        harbor: { type: 'http', scheme: 'basic', description: 'RELAY_AUTH=harbor: your Harbor login or robot account; Harbor decides what you may pull' },
        apiToken: { type: 'http', scheme: 'bearer', description: 'RELAY_AUTH=token: an API token from RELAY_TOKENS' },
        webhookSecret: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'RELAY_WEBHOOK_SECRET, set as the Harbor webhook policy\'s Auth Header' },
      },
      schemas: {
        PullRequest: schemaOf(PullRequestSchema, 'input'),
        HarborWebhook: schemaOf(HarborWebhookSchema, 'input'),
        PullRecord: schemaOf(PullRecordSchema, 'output'),
        BlobAnswer: schemaOf(BlobAnswerSchema, 'output'),
        WebhookAnswer: schemaOf(WebhookAnswerSchema, 'output'),
        Health: schemaOf(HealthSchema, 'output'),
        Error: schemaOf(ErrorBodySchema, 'output'),
      },
    },
    security: [{ harbor: [] }, { apiToken: [] }],
    paths: {
      '/v1/pulls': {
        post: {
          summary: 'Request a pull of an image for a platform',
          requestBody: { required: true, content: json('PullRequest') },
          responses: {
            '200': { description: 'pinned by digest and already stored: the finished pull', content: json('PullRecord') },
            '202': { description: 'queued, or an identical pull already queued or running', content: json('PullRecord') },
            '400': error('INVALID_JSON, INVALID_REQUEST, INVALID_IMAGE_REF, INVALID_PLATFORM, REGISTRY_NOT_ALLOWED'),
            ...denied,
            '413': error('PAYLOAD_TOO_LARGE: body over 64 KiB'),
            '415': error('UNSUPPORTED_MEDIA_TYPE: the body is not sent as application/json'),
          },
        },
      },
      '/v1/pulls/{id}': {
        get: {
          summary: 'A pull record; a done pull\'s layers carry signed URLs',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', maxLength: 64 } }],
          responses: { '200': { description: 'the pull', content: json('PullRecord') }, ...denied, '404': error('NOT_FOUND') },
        },
      },
      '/v1/blobs/{digest}': {
        get: {
          summary: 'A signed URL for a stored blob',
          parameters: [
            { name: 'digest', in: 'path', required: true, schema: { type: 'string', pattern: '^sha(256|512):[a-f0-9]+$' } },
            { name: 'redirect', in: 'query', required: false, schema: { type: 'string', enum: ['1'] }, description: 'answer 307 to the signed URL' },
          ],
          responses: {
            '200': { description: 'where to download it', content: json('BlobAnswer') },
            '307': { description: 'redirect to the signed URL (with ?redirect=1)' },
            '400': error('INVALID_DIGEST'),
            ...denied,
            '404': error('NOT_FOUND'),
          },
        },
      },
      '/v1/webhooks/harbor': {
        post: {
          summary: 'Harbor webhook (Default or CloudEvents payload); a push prefetches the configured platforms',
          security: [{ webhookSecret: [] }],
          requestBody: { required: true, content: json('HarborWebhook') },
          responses: {
            '200': { description: 'not a push event: acknowledged and ignored', content: json('WebhookAnswer') },
            '202': { description: 'push: pulls queued (or found in flight / done)', content: json('WebhookAnswer') },
            '400': error('INVALID_JSON, INVALID_REQUEST, INVALID_DIGEST, INVALID_IMAGE_REF'),
            '401': error('UNAUTHENTICATED: Authorization is not RELAY_WEBHOOK_SECRET'),
            '413': error('PAYLOAD_TOO_LARGE'),
          },
        },
      },
      '/objects/{kind}/{alg}/{hex}': {
        get: {
          summary: "Local mode's signed object URLs (the signature is the credential); S3 presigned URLs in AWS mode",
          security: [],
          parameters: [
            { name: 'kind', in: 'path', required: true, schema: { type: 'string', enum: ['blobs', 'files', 'manifests'] } },
            { name: 'alg', in: 'path', required: true, schema: { type: 'string', enum: ['sha256', 'sha512'] } },
            { name: 'hex', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-f0-9]+$' } },
            { name: 'expires', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'sig', in: 'query', required: true, schema: { type: 'string' } },
            { name: 'Range', in: 'header', required: false, schema: { type: 'string' }, description: 'one byte range, bytes=N- / N-M / -N' },
          ],
          responses: {
            '200': { description: 'the object', content: { 'application/octet-stream': { schema: { type: 'string', contentEncoding: 'binary' } } } },
            '206': { description: 'the asked range, with Content-Range' },
            '403': error('SIGNATURE_INVALID, URL_EXPIRED'),
            '404': error('NOT_FOUND'),
            '416': { description: 'range not satisfiable, with Content-Range: bytes */SIZE' },
          },
        },
      },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': { description: 'up', content: json('Health') } } } },
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1' } } } },
    },
  };
}
