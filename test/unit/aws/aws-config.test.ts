import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.ts';
import { MAX_PARTS, PART_SIZE_BYTES, partSizeFor } from '../../../shared/store/s3-multipart-upload.ts';

const base = { HARBOR_URL: 'https://harbor.example.com' };
const aws = { ...base, RELAY_STORE: 's3://relay-bucket/prod', RELAY_QUEUE: 'https://sqs.eu-west-1.amazonaws.com/123456789012/relay-jobs', AWS_REGION: 'eu-west-1' };

describe('loadConfig for the AWS mode', () => {
  it('reads an s3:// store, an SQS queue URL and puts the records beside the objects', () => {
    const config = loadConfig(aws);
    expect(config.store).toEqual({ kind: 's3', bucket: 'relay-bucket', prefix: 'prod', forcePathStyle: false });
    expect(config.queue).toEqual({ kind: 'sqs', url: aws.RELAY_QUEUE });
    expect(config.records).toEqual({ kind: 's3', bucket: 'relay-bucket', prefix: 'prod/records' });
    expect(config.awsRegion).toBe('eu-west-1');
  });

  it('takes S3_ENDPOINT and S3_FORCE_PATH_STYLE for S3-compatible stores, and RELAY_RECORDS elsewhere', () => {
    const config = loadConfig({ ...aws, RELAY_STORE: 's3://objects', S3_ENDPOINT: 'http://minio.internal:9000', S3_FORCE_PATH_STYLE: 'true', RELAY_RECORDS: 's3://records-bucket/relay/' });
    expect(config.store).toEqual({ kind: 's3', bucket: 'objects', prefix: '', endpoint: 'http://minio.internal:9000', forcePathStyle: true });
    expect(config.records).toEqual({ kind: 's3', bucket: 'records-bucket', prefix: 'relay' });
  });

  it('keeps the Harbor credentials as an SSM parameter name, never as env text', () => {
    const config = loadConfig({ ...aws, HARBOR_CREDENTIALS_PARAMETER: '/layer-relay/harbor' });
    expect(config.harbor.credentialsParameter).toBe('/layer-relay/harbor');
    expect(config.harbor.credentials).toBeUndefined();
  });

  it('reports every AWS problem at once', () => {
    let problems: string[] = [];
    try {
      loadConfig({
        ...base,
        RELAY_STORE: 'file:/srv/relay',
        RELAY_QUEUE: 'https://sqs.eu-west-1.amazonaws.com/123456789012/relay-jobs',
        S3_FORCE_PATH_STYLE: 'maybe',
        HARBOR_CREDENTIALS_PARAMETER: '/x',
        HARBOR_USERNAME: 'robot$a+b',
        HARBOR_PASSWORD: 'secret-password',
      });
    } catch (err) {
      problems = (err as { details: { problems: string[] } }).details.problems;
    }
    expect(problems.join('\n')).toMatch(/S3_FORCE_PATH_STYLE/);
    const second = (() => {
      try {
        loadConfig({ ...base, RELAY_STORE: 'file:/srv/relay', RELAY_QUEUE: aws.RELAY_QUEUE, HARBOR_CREDENTIALS_PARAMETER: '/x', HARBOR_USERNAME: 'u', HARBOR_PASSWORD: 'p', RELAY_RECORDS: 'nope' });
        return '';
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(second).toMatch(/an SQS queue needs an s3:\/\/ RELAY_STORE/);
    expect(second).toMatch(/set one source of credentials/);
    expect(second).toMatch(/AWS_REGION/);
    expect(second).toMatch(/RELAY_RECORDS/);
  });

  it('leaves the local default untouched', () => {
    const config = loadConfig(base, '/srv/relay');
    expect(config.store).toEqual({ kind: 'file', dir: '/srv/relay/.relay-data' });
    expect(config.queue).toEqual({ kind: 'sqlite', path: '/srv/relay/.relay-data/relay.sqlite' });
    expect(config.records).toEqual({ kind: 'sqlite' });
    expect(config.awsRegion).toBeUndefined();
  });

  it('refuses a queue that is neither sqlite: nor a queue URL', () => {
    expect(() => loadConfig({ ...aws, RELAY_QUEUE: 'amqp://rabbit/jobs' })).toThrow(/neither sqlite:FILE nor an SQS queue URL/);
  });
});

describe('partSizeFor', () => {
  it('uses 8 MiB parts, growing in whole MiB only past what 10,000 parts hold', () => {
    expect(partSizeFor(0)).toBe(PART_SIZE_BYTES);
    expect(partSizeFor(MAX_PARTS * PART_SIZE_BYTES)).toBe(PART_SIZE_BYTES);
    const huge = 200 * 1024 ** 3;
    const size = partSizeFor(huge);
    expect(size % (1024 * 1024)).toBe(0);
    expect(Math.ceil(huge / size)).toBeLessThanOrEqual(MAX_PARTS);
  });
});
