import { formatPlatform, type Platform } from '../../shared/platform.ts';
import type { PullState } from '../../shared/pull-record.ts';
import type { PushedArtifact } from './harbor-webhook.ts';
import { parsePullRequest } from './pull-request.ts';
import { requestPull, type RequestPullDeps } from './request-pull.ts';

/** A pull a webhook delivery started or found already on its way. */
export interface PrefetchedPull {
  id: string;
  image: string;
  platform: string;
  state: PullState;
  /** False when an existing pull (in flight, or done and stored) answered: nothing new was copied. */
  queued: boolean;
}

/** What one push event led to. */
export interface PrefetchResult {
  pulls: PrefetchedPull[];
  skipped: { digest: string; reason: string }[];
}

/** Why a push by digest alone starts nothing. */
const BY_DIGEST_REASON = 'pushed by digest without a tag: the child manifests of an index push arrive this way, and the index event (with its tag) prefetches the configured platforms';

/**
 * Turns a Harbor push into pulls: for each tagged artifact, `<harbor host>/<repo_full_name>@<digest>`
 * once per configured platform (an index resolves to each platform's child; a single-platform image
 * is itself). The image is built from configuration and the event's repository and digest only, and
 * passes the same validation and registry allowlist as an API request.
 *
 * Harbor reports a multi-arch push as N+1 events: each child manifest pushed by digest (`tag` empty
 * or holding the digest), then the index under its tag. The children are skipped: prefetching them
 * would copy platforms the operator did not ask for, and the index event covers the wanted ones.
 * A redelivered event finds its pulls in flight, or done with every layer stored (the digest-pinned
 * answer of requestPull): no second copy.
 */
export async function prefetchPush(deps: RequestPullDeps, registry: string, repository: string, artifacts: readonly PushedArtifact[], platforms: readonly Platform[]): Promise<PrefetchResult> {
  const result: PrefetchResult = { pulls: [], skipped: [] };
  for (const artifact of artifacts) {
    if (artifact.tag === undefined) {
      result.skipped.push({ digest: artifact.digest, reason: BY_DIGEST_REASON });
      continue;
    }
    for (const platform of platforms) {
      const request = parsePullRequest({ image: `${registry}/${repository}@${artifact.digest}`, platform: formatPlatform(platform) }, registry);
      const outcome = await requestPull(deps, request);
      const { id, image, platform: platformText, state } = outcome.record;
      result.pulls.push({ id, image, platform: platformText, state, queued: outcome.queued });
    }
  }
  return result;
}
