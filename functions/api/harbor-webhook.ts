import { z } from 'zod';
import { parseDigest, type Digest } from '../../shared/digest.ts';
import { RelayError } from '../../shared/errors.ts';

/** Harbor's `PUSH_ARTIFACT` in the Default format and `harbor.artifact.pushed` in CloudEvents (since 2.8). */
const PUSH_TYPES: ReadonlySet<string> = new Set(['PUSH_ARTIFACT', 'harbor.artifact.pushed']);
/** One push names one artifact in practice; a bound keeps a hostile body from fanning out into thousands of pulls. */
const MAX_RESOURCES = 100;

const ResourceSchema = z.looseObject({
  digest: z.string().max(200).optional(),
  tag: z.string().max(200).optional(),
  resource_url: z.string().max(1000).optional().describe('ignored: its form changed across Harbor versions (field case I2)'),
});
const EventDataSchema = z.looseObject({
  resources: z.array(ResourceSchema).max(MAX_RESOURCES).optional(),
  repository: z.looseObject({ repo_full_name: z.string().max(400).optional(), namespace: z.string().optional(), name: z.string().optional() }).optional(),
});

/** Harbor's Default payload: `{type, occur_at, operator, event_data: {resources, repository}}`. */
export const HarborDefaultEventSchema = z.looseObject({
  type: z.string().max(100).describe('PUSH_ARTIFACT starts prefetches; every other type is acknowledged and ignored'),
  occur_at: z.number().optional(),
  operator: z.string().optional(),
  event_data: EventDataSchema.optional(),
});

/** Harbor's CloudEvents payload (structured mode): `{specversion, id, type, source, time, data: {resources, repository}}`. */
export const HarborCloudEventSchema = z.looseObject({
  specversion: z.string().max(10),
  id: z.string().max(200).optional(),
  type: z.string().max(100).describe('harbor.artifact.pushed starts prefetches; every other type is acknowledged and ignored'),
  source: z.string().optional(),
  time: z.string().optional(),
  data: EventDataSchema.optional(),
});

/** Body of POST /v1/webhooks/harbor: either format (a CloudEvent is told apart by `specversion`). */
export const HarborWebhookSchema = z.union([HarborCloudEventSchema, HarborDefaultEventSchema]);

/** One pushed artifact. */
export interface PushedArtifact {
  /** The identity of what was pushed (field case I3: `tag` may hold a digest too). */
  digest: Digest;
  /** The real tag, when the push named one; undefined for a push by digest. */
  tag?: string;
}

/** What a delivery asks of the relay. */
export type HarborWebhookEvent =
  | { kind: 'push'; format: 'default' | 'cloudevents'; repository: string; artifacts: PushedArtifact[] }
  | { kind: 'ignored'; type: string };

/**
 * Reads a Harbor webhook delivery in either format. Push events must name the repository
 * (`repository.repo_full_name`) and each resource's `digest`; `resource_url` is never parsed
 * (it has no scheme and changed form across versions: field case I2), and a `tag` that is empty
 * or holds a digest marks a push by digest.
 */
export function parseHarborWebhook(body: unknown): HarborWebhookEvent {
  const parsed = HarborWebhookSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    throw new RelayError('INVALID_REQUEST', `not a Harbor webhook payload (Default or CloudEvents): ${problems.slice(0, 500)}`);
  }
  const event = parsed.data;
  const cloud = 'specversion' in event;
  if (!PUSH_TYPES.has(event.type)) return { kind: 'ignored', type: event.type };
  const data = cloud ? (event as z.infer<typeof HarborCloudEventSchema>).data : (event as z.infer<typeof HarborDefaultEventSchema>).event_data;
  const repository = data?.repository?.repo_full_name;
  if (!repository) throw new RelayError('INVALID_REQUEST', `${event.type} event without ${cloud ? 'data' : 'event_data'}.repository.repo_full_name`);
  const resources = data?.resources ?? [];
  if (resources.length === 0) throw new RelayError('INVALID_REQUEST', `${event.type} event without resources`);
  const artifacts = resources.map((resource, index): PushedArtifact => {
    if (resource.digest === undefined) throw new RelayError('INVALID_REQUEST', `${event.type} event: resources[${index}] has no digest`);
    const digest = parseDigest(resource.digest);
    const tag = resource.tag?.trim();
    // A tag never holds a colon (distribution's grammar); one that does is a digest (field case I3).
    return tag && !tag.includes(':') ? { digest, tag } : { digest };
  });
  return { kind: 'push', format: cloud ? 'cloudevents' : 'default', repository, artifacts };
}
