import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One S3 request as the proxy judged it. */
export interface IamDecision {
  /** The role's logical id in the template (the request's access key id). */
  role: string;
  method: string;
  /** The IAM action S3 checks for the request, e.g. `s3:GetObject`. */
  action: string;
  /** `arn:aws:s3:::bucket[/key]`. */
  resource: string;
  allowed: boolean;
  /** Made with a presigned URL (the signer's permission is what counts). */
  presigned: boolean;
}

/** A running IAM proxy in front of an S3 endpoint. */
export interface IamProxy {
  /** `http://127.0.0.1:PORT`: the S3 endpoint to give the code under test. */
  url: string;
  /** Every decision so far, in order. */
  readonly decisions: readonly IamDecision[];
  /** The refused ones. */
  denied(): IamDecision[];
  stop(): Promise<void>;
}

/** The access key id that is allowed everything (sets up state a role alone may not). */
export const ADMIN_ACCESS_KEY = 'Admin';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown };
type Grant = { actions: string[]; resources: string[] };
type Template = { Resources: Record<string, { Type: string; Properties?: { Policies?: { PolicyDocument: { Statement: Statement[] } }[] } }> };

/**
 * An S3 "IAM" for tests. fauxqs checks no permission at all, so without this no IAM mistake can
 * show in a test. Every request (SDK call or presigned URL) is attributed to a role by its access
 * key id, which tests set to the role's logical id in the packaged template (`WorkerRole`, ...),
 * mapped to the action S3 would check, and answered 403 AccessDenied unless one of that role's Allow
 * statements covers it. IAM is thereby tested against the calls the code really makes, not against
 * a list of prefixes written by hand.
 */
export async function startIamProxy(upstream: string, templatePath: string, bucket: string): Promise<IamProxy> {
  const target = new URL(upstream);
  const roles = rolePolicies(JSON.parse(readFileSync(templatePath, 'utf8')) as Template, bucket);
  const decisions: IamDecision[] = [];

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const fromHeader = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    const fromQuery = url.searchParams.get('X-Amz-Credential')?.split('/')[0];
    const role = fromHeader ?? fromQuery ?? 'anonymous';
    // Path-style requests: /<bucket>/<key>.
    const [, bucketName = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? 'GET';
    const action = s3Action(method, key, url.searchParams);
    const resource = `arn:aws:s3:::${decodeURIComponent(bucketName)}${key === '' ? '' : `/${key}`}`;
    const allowed = role === ADMIN_ACCESS_KEY || (roles.get(role) ?? []).some((grant) => grant.actions.some((a) => glob(a, action)) && grant.resources.some((r) => glob(r, resource)));
    decisions.push({ role, method, action, resource, allowed, presigned: fromQuery !== undefined });
    if (allowed) return forward(target, req, res);
    req.resume();
    res.writeHead(403, { 'content-type': 'application/xml' });
    res.end(method === 'HEAD' ? undefined : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    decisions,
    denied: () => decisions.filter((decision) => !decision.allowed),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Each role's Allow statements, resources resolved for `bucket` (only the bucket's ARN is resolved; other ARNs stay symbolic). */
export function rolePolicies(template: Template, bucket: string): Map<string, Grant[]> {
  const roles = new Map<string, Grant[]>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Role') continue;
    const statements = (resource.Properties?.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement);
    roles.set(
      id,
      statements.filter((s) => s.Effect === 'Allow').map((s) => ({ actions: [s.Action].flat(), resources: resolveArn(s.Resource, bucket) })),
    );
  }
  return roles;
}

function resolveArn(value: unknown, bucket: string): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap((item) => resolveArn(item, bucket));
  const intrinsic = value as Record<string, unknown>;
  if (intrinsic['Fn::GetAtt']) {
    const [id, attribute] = intrinsic['Fn::GetAtt'] as [string, string];
    return [id === 'RelayBucket' && attribute === 'Arn' ? `arn:aws:s3:::${bucket}` : `<${id}.${attribute}>`];
  }
  if (intrinsic['Fn::Join']) {
    const [separator, parts] = intrinsic['Fn::Join'] as [string, unknown[]];
    return [parts.map((part) => resolveArn(part, bucket)[0]).join(separator)];
  }
  if (intrinsic.Ref !== undefined) return [`<${String(intrinsic.Ref)}>`];
  return [JSON.stringify(value)];
}

/** IAM's wildcard match: `*` is any run of characters, everything else literal. */
function glob(pattern: string, value: string): boolean {
  const source = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${source}$`).test(value);
}

/** The IAM action S3 authorizes a path-style request with (S3 "Actions, resources, and condition keys"). */
function s3Action(method: string, key: string, query: URLSearchParams): string {
  if (key === '') return method === 'GET' || method === 'HEAD' ? 's3:ListBucket' : `s3:bucket-${method}`;
  if (method === 'GET' && query.has('uploadId')) return 's3:ListMultipartUploadParts';
  if (method === 'GET' || method === 'HEAD') return 's3:GetObject';
  // PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
  if (method === 'PUT' || method === 'POST') return 's3:PutObject';
  if (method === 'DELETE') return query.has('uploadId') ? 's3:AbortMultipartUpload' : 's3:DeleteObject';
  return `s3:${method}`;
}

function forward(target: URL, req: IncomingMessage, res: ServerResponse): void {
  const headers = { ...req.headers, host: target.host };
  delete headers.expect; // Node's server already answered 100-continue
  const upstream = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}
