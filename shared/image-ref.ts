import { parseDigest, type Digest } from './digest.ts';
import { RelayError } from './errors.ts';

/**
 * An image reference `HOST[:PORT]/PROJECT/REPO[/...][:TAG][@DIGEST]`, parsed with no I/O
 * (grammar of distribution's reference package). The registry host is required: the relay
 * only ever fetches from registries the operator configured.
 */
export interface ImageRef {
  /** `host[:port]`, lower-cased, without a default port (see {@link canonicalRegistry}). */
  readonly registry: string;
  /** `project/repo[/...]`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

/** Tag used when a reference names neither tag nor digest, as docker and containerd do. */
export const DEFAULT_TAG = 'latest';

const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:.]+\\])(?::[0-9]{1,5})?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
/** What precedes `@` in `user:pw@host/...` (optionally after a scheme): no `/`, so it is no repository; a digest after `@` never has one. */
const CREDENTIALS = /^(?:[a-z][a-z0-9+.-]*:\/\/)?[^/]*$/i;
/** distribution limits the repository name to 255 characters. */
const MAX_REPOSITORY_LENGTH = 255;

/** Parses an image reference; throws INVALID_IMAGE_REF with a message that says what to fix. */
export function parseImageRef(input: string): ImageRef {
  const value = input.trim();
  if (value === '') throw invalid(input, 'it is empty');
  let rest = value;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at !== -1 && CREDENTIALS.test(rest.slice(0, at)) && rest.slice(at + 1).includes('/')) {
    // `user:pw@host/...` is a URL habit: say so (the digest parser would only complain about "host/..."), and
    // never repeat the input, which carries a password.
    throw invalid(`***@${rest.slice(at + 1)}`, 'credentials do not belong in an image reference (send them as HTTP Basic auth)');
  }
  if (at !== -1) {
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch (err) {
      throw invalid(input, (err as Error).message);
    }
    rest = rest.slice(0, at);
  }
  const slash = rest.indexOf('/');
  const first = slash === -1 ? rest : rest.slice(0, slash);
  if (slash === -1 || !looksLikeHost(first)) {
    throw invalid(input, 'it must start with the registry host, e.g. harbor.example.com/project/app:1.0');
  }
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(':');
  if (colon !== -1) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(input, `tag "${tag}" is not valid (letters, digits, _ . -; at most 128)`);
  }
  if (!HOST.test(first)) throw invalid(input, `registry host "${first}" is not a valid host[:port]`);
  const components = path.split('/');
  if (components.length < 2) throw invalid(input, 'the repository must be PROJECT/REPO');
  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(input, `repository component "${component}" must be lower-case letters and digits, separated by . _ __ or -`);
    }
  }
  if (path.length > MAX_REPOSITORY_LENGTH) throw invalid(input, `the repository name is longer than ${MAX_REPOSITORY_LENGTH} characters`);
  return {
    registry: canonicalRegistry(first),
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/**
 * The canonical string form, which is also a pull's identity (dedupe of active pulls): one string for
 * references that name the same content. No tag means `latest`; with a digest the tag is dropped,
 * because the digest alone decides what is fetched (containerd's ParseDockerRef drops it too), and
 * Harbor's push webhook names pushes by digest alone, so its prefetch and the hosts' `:v1@D` are one pull.
 */
export function formatImageRef(ref: ImageRef): string {
  if (ref.digest !== undefined) return `${ref.registry}/${ref.repository}@${ref.digest}`;
  return `${ref.registry}/${ref.repository}:${ref.tag ?? DEFAULT_TAG}`;
}

/**
 * `host[:port]` as the allowlist compares it: lower-cased, and without :443 or :80. A reference
 * names a registry by host alone in the usual case, while HARBOR_URL may spell the default port
 * (or the other way round); the relay reaches that registry through HARBOR_URL either way, so a
 * scheme's default port says nothing a bare host does not.
 */
export function canonicalRegistry(hostPort: string): string {
  return hostPort.toLowerCase().replace(/:(?:443|80)$/, '');
}

/** What to put after `/manifests/`: the digest when pinned (it wins over the tag), else the tag. */
export function manifestReference(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** The same repository at another digest (child manifests, blobs). */
export function withDigest(ref: ImageRef, digest: Digest): ImageRef {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** docker's rule: the first component is a host if it has a dot or a port, or is localhost. */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.startsWith('[');
}

function invalid(input: string, reason: string): RelayError {
  const shown = input.length > 300 ? `${input.slice(0, 297)}...` : input;
  return new RelayError('INVALID_IMAGE_REF', `image "${shown}" is not a valid reference: ${reason}`);
}
