import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lintTemplate, readTemplate, smokeTestHandlers } from '../../../scripts/check-package.ts';
import { PACKAGE_TIMEOUT_MS, packageService, type PackagedService } from '../../support/packaged-service.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Principal?: unknown };

let packaged: PackagedService;
let dir: string;
let resources: Record<string, Resource>;

beforeAll(() => {
  packaged = packageService();
  dir = packaged.dir;
  resources = readTemplate(dir).Resources;
}, PACKAGE_TIMEOUT_MS);
afterAll(() => {
  packaged?.remove();
});

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, resource]) => resource.Type === type);
}

function props(id: string): Record<string, unknown> {
  return resources[id]!.Properties!;
}

describe('the packaged service (serverless.yml + infra/aws)', () => {
  it('every packaged handler loads in a fresh Node 24 process', () => {
    const lines = smokeTestHandlers(dir);
    expect(lines).toHaveLength(4);
    for (const line of lines) expect(line).toMatch(/^ok .* v24\./);
  });

  it('runs the functions on nodejs24.x arm64, behind HTTP API routes', () => {
    const functions = ofType('AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual(['ApiLambdaFunction', 'DeadLettersLambdaFunction', 'StatusLambdaFunction', 'WorkerLambdaFunction']);
    for (const [, fn] of functions) {
      expect(fn.Properties!.Runtime).toBe('nodejs24.x');
      expect(fn.Properties!.Architectures).toEqual(['arm64']);
    }
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties!.RouteKey).sort();
    expect(routes).toEqual(['GET /healthz', 'GET /openapi.json', 'GET /v1/blobs/{digest}', 'GET /v1/pulls/{id}', 'POST /v1/pulls', 'POST /v1/webhooks/harbor']);
  });

  it('gives the job queue a dead-letter redrive, a visibility timeout ≥ 6× the worker timeout, and ReportBatchItemFailures', () => {
    const queue = props('JobQueue');
    const redrive = queue.RedrivePolicy as { deadLetterTargetArn: unknown; maxReceiveCount: unknown };
    expect(redrive.deadLetterTargetArn).toEqual({ 'Fn::GetAtt': ['DeadLetterQueue', 'Arn'] });
    expect(Number(redrive.maxReceiveCount)).toBeGreaterThanOrEqual(1);
    const workerTimeout = Number(props('WorkerLambdaFunction').Timeout);
    expect(Number(queue.VisibilityTimeout)).toBeGreaterThanOrEqual(6 * workerTimeout);
    // The worker's final-attempt check uses the same number as the redrive.
    const env = (props('WorkerLambdaFunction').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(String(env.RELAY_MAX_ATTEMPTS)).toBe(String(redrive.maxReceiveCount));
    for (const [, mapping] of ofType('AWS::Lambda::EventSourceMapping')) {
      expect(mapping.Properties!.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    }
    expect(ofType('AWS::Lambda::EventSourceMapping')).toHaveLength(2);
  });

  it('blocks public access, encrypts, aborts incomplete multipart uploads and denies non-TLS requests on the bucket', () => {
    const bucket = props('RelayBucket');
    expect(bucket.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(JSON.stringify(bucket.BucketEncryption)).toContain('AES256');
    const rules = (bucket.LifecycleConfiguration as { Rules: { Status: string; AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number } }[] }).Rules;
    expect(rules.some((rule) => rule.Status === 'Enabled' && (rule.AbortIncompleteMultipartUpload?.DaysAfterInitiation ?? 0) >= 1)).toBe(true);
    const statements = (props('RelayBucketPolicy').PolicyDocument as { Statement: Statement[] }).Statement;
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(props('RelayBucketPolicy').Bucket).toEqual({ Ref: 'RelayBucket' });
  });

  it('gives each function its own role, and no IAM statement a * action or resource', () => {
    const roles = ofType('AWS::IAM::Role');
    expect(roles.map(([id]) => id).sort()).toEqual(['ApiRole', 'DeadLettersRole', 'StatusRole', 'WorkerRole']);
    for (const [id, role] of roles) {
      const statements = (role.Properties!.Policies as { PolicyDocument: { Statement: Statement[] } }[]).flatMap((policy) => policy.PolicyDocument.Statement);
      expect(statements.length, id).toBeGreaterThan(0);
      for (const statement of statements) {
        const actions = [statement.Action].flat();
        for (const action of actions) expect(action, `${id}: ${action}`).not.toMatch(/\*/);
        const targets = [statement.Resource].flat();
        for (const target of targets) {
          expect(target, `${id}: resource`).not.toBe('*');
          // Object ARNs are narrowed to a prefix, never the whole bucket (`<bucket>/*`).
          if (typeof target === 'object' && JSON.stringify(target).includes('/*')) expect(JSON.stringify(target)).toMatch(/\/(blobs|files|leases|records(\/(pulls|index|active))?)\/\*/);
        }
      }
    }
    // Only the worker may write blob records: their repositories grant GET /v1/blobs/:digest.
    const writesBlobRecords = roles
      .filter(([, role]) =>
        (role.Properties!.Policies as { PolicyDocument: { Statement: Statement[] } }[])
          .flatMap((policy) => policy.PolicyDocument.Statement)
          .some((statement) => [statement.Action].flat().includes('s3:PutObject') && /\/records\/\*/.test(JSON.stringify(statement.Resource))),
      )
      .map(([id]) => id);
    expect(writesBlobRecords).toEqual(['WorkerRole']);
    // Only the worker reads the Harbor credentials, and only that parameter.
    const ssm = roles.filter(([, role]) => JSON.stringify(role).includes('ssm:GetParameter')).map(([id]) => id);
    expect(ssm).toEqual(['WorkerRole']);
    const wildcardPolicies = ofType('AWS::IAM::Policy').length + ofType('AWS::IAM::ManagedPolicy').length;
    expect(wildcardPolicies).toBe(0);
    for (const [id, fn] of ofType('AWS::Lambda::Function')) expect(fn.Properties!.Role, id).toHaveProperty('Fn::GetAtt');
  });

  it('passes cfn-lint when it is installed', () => {
    const result = lintTemplate(dir);
    if (result !== undefined) expect(result).toMatch(/clean/);
  });
});
