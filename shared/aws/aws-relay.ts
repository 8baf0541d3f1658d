import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AccessControl } from '../auth/access-control.ts';
import { createAccessControl } from '../auth/create-access-control.ts';
import type { StoredObject } from '../blob-store.ts';
import { loadConfig, type RelayConfig } from '../config.ts';
import { RelayError } from '../errors.ts';
import { createLogger, type Logger } from '../log.ts';
import { S3CopyLeases } from '../leases/s3-copy-leases.ts';
import { SqsJobQueue } from '../queue/sqs-job-queue.ts';
import { S3RecordStore } from '../records/s3-record-store.ts';
import { createRegistryClient, type RegistryClient } from '../registry/registry-client.ts';
import { SingleFlight } from '../single-flight.ts';
import { S3BlobStore } from '../store/s3-blob-store.ts';
import { createS3Client, createSqsClient, createSsmClient, credentialsFromEnv } from './aws-clients.ts';
import { fetchHarborCredentials } from './harbor-credentials.ts';

/** Everything the AWS functions share, built once per cold start from the environment. */
export interface AwsRelay {
  config: RelayConfig;
  log: Logger;
  s3: S3Client;
  sqs: SQSClient;
  store: S3BlobStore;
  records: S3RecordStore;
  queue: SqsJobQueue;
  /** Who may call the api and status functions (RELAY_AUTH; `harbor` by default in Lambda). */
  access: AccessControl;
  /** The registry client, with Harbor credentials read from SSM on first use and kept. */
  registry(): Promise<RegistryClient>;
  /** One SingleFlight per container: a digest is copied once however many pulls in a batch want it. */
  copies: SingleFlight<StoredObject>;
  /** Across containers: lease objects beside the blobs decide which worker copies a digest. */
  leases: S3CopyLeases;
}

/** Test seams: clients and a log sink; everything else comes from the environment as in Lambda. */
export interface AwsRelayOverrides {
  log?: Logger;
  s3?: S3Client;
  sqs?: SQSClient;
}

/**
 * The AWS wiring (design.md §2): validates the environment (all problems at once), refuses anything
 * but an s3:// store with an SQS queue, and builds S3/SQS clients, the S3 object and record stores
 * and the SQS queue. Nothing here does I/O; Harbor credentials are fetched lazily by the worker
 * only (the api and status functions never talk to Harbor with the relay's own account).
 * Lives in shared/aws/ so the three handlers stay a few lines and the tests build the same graph.
 */
export function createAwsRelay(env: Record<string, string | undefined>, overrides: AwsRelayOverrides = {}): AwsRelay {
  const config = loadConfig(env);
  const { store: storeConfig, queue: queueConfig, records: recordsConfig } = config;
  if (storeConfig.kind !== 's3' || queueConfig.kind !== 'sqs' || recordsConfig.kind !== 's3' || config.awsRegion === undefined) {
    throw new RelayError('CONFIG_INVALID', 'the AWS functions need RELAY_STORE=s3://BUCKET[/PREFIX], RELAY_QUEUE=<SQS queue URL> and AWS_REGION');
  }
  const region = config.awsRegion;
  const log = overrides.log ?? createLogger({ level: config.logLevel, write: (line) => process.stdout.write(`${line}\n`) });
  const credentials = credentialsFromEnv(env);
  const s3 =
    overrides.s3 ??
    createS3Client({ region, ...(storeConfig.endpoint === undefined ? {} : { endpoint: storeConfig.endpoint }), forcePathStyle: storeConfig.forcePathStyle, ...(credentials ? { credentials } : {}) });
  const sqs = overrides.sqs ?? createSqsClient(region, queueConfig.url, credentials);

  let registry: Promise<RegistryClient> | undefined;
  const openRegistry = async (): Promise<RegistryClient> => {
    const harbor = config.harbor.credentialsParameter === undefined ? config.harbor.credentials : await fetchHarborCredentials(createSsmClient(region, credentials), config.harbor.credentialsParameter);
    return createRegistryClient({
      baseUrl: config.harbor.url.origin,
      ...(harbor ? { credentials: harbor } : {}),
      foreignHosts: config.harbor.foreignHosts,
      onResume: (offset, cause) => log.info('blob download resumed with Range', { offset, code: cause.code }),
    });
  };

  return {
    config,
    log,
    s3,
    sqs,
    store: new S3BlobStore({ client: s3, bucket: storeConfig.bucket, prefix: storeConfig.prefix }),
    records: new S3RecordStore({ client: s3, bucket: recordsConfig.bucket, prefix: recordsConfig.prefix }),
    queue: new SqsJobQueue({ client: sqs, queueUrl: queueConfig.url }),
    access: createAccessControl(config, { log }),
    registry: () => {
      // A failed read (SSM throttled) is not cached: the next invocation tries again.
      registry ??= openRegistry().catch((err: unknown) => {
        registry = undefined;
        throw err;
      });
      return registry;
    },
    copies: new SingleFlight<StoredObject>(),
    leases: new S3CopyLeases({ client: s3, bucket: storeConfig.bucket, prefix: storeConfig.prefix }),
  };
}
