import { z } from 'zod';
import { RelayError } from '../../shared/errors.ts';
import { formatImageRef, parseImageRef, type ImageRef } from '../../shared/image-ref.ts';
import { DEFAULT_PLATFORM, formatPlatform, parsePlatform, type Platform } from '../../shared/platform.ts';

/**
 * Body of POST /v1/pulls. Unknown keys are refused so a typo ("platfrom") is not silently ignored.
 * No minimum lengths: an empty image or platform is for their parsers to refuse with their own codes.
 */
export const PullRequestSchema = z.strictObject({
  image: z.string().max(600).describe('HOST[:PORT]/PROJECT/REPO[:TAG][@DIGEST]'),
  platform: z.string().max(100).optional().describe('os/arch[/variant], default linux/amd64'),
});

/** A validated pull request: real types, and the canonical strings used as identity. */
export interface ParsedPullRequest {
  ref: ImageRef;
  platform: Platform;
  image: string;
  platformText: string;
}

/**
 * Validates a request body: JSON shape, image reference, platform, and the registry allowlist —
 * the worker never fetches from a host the operator did not configure (SSRF).
 */
export function parsePullRequest(body: unknown, allowedRegistry: string): ParsedPullRequest {
  const shape = PullRequestSchema.safeParse(body);
  if (!shape.success) {
    const problems = shape.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
    throw new RelayError('INVALID_REQUEST', `invalid pull request: ${problems} (want {"image": "...", "platform": "os/arch"})`);
  }
  const ref = parseImageRef(shape.data.image);
  if (ref.registry !== allowedRegistry) {
    throw new RelayError('REGISTRY_NOT_ALLOWED', `registry "${ref.registry}" is not configured; this relay pulls from ${allowedRegistry} only`);
  }
  const platform = shape.data.platform === undefined ? DEFAULT_PLATFORM : parsePlatform(shape.data.platform);
  return { ref, platform, image: formatImageRef(ref), platformText: formatPlatform(platform) };
}
