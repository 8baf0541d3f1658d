import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { LambdaEvent } from 'hono/aws-lambda';

/** An API Gateway HTTP API (payload 2.0) event, as Lambda hands it to the api and status functions. */
export function httpEvent(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): LambdaEvent {
  const [rawPath, rawQueryString = ''] = path.split('?') as [string, string?];
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers: { 'content-type': 'application/json', host: 'relay.example.com', ...headers },
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'relay.example.com',
      domainPrefix: 'relay',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'req',
      routeKey: '$default',
      stage: '$default',
      time: '03/Dec/2030:00:00:00 +0000',
      timeEpoch: 0,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    isBase64Encoded: false,
  };
  // hono/aws-lambda declares its own event types; the aws-lambda one is the contract API Gateway keeps.
  return event as unknown as LambdaEvent;
}

/** A Lambda context for the HTTP functions (they read no deadline). */
export const httpContext = { awsRequestId: 'test', getRemainingTimeInMillis: () => 900_000 } as Context;
