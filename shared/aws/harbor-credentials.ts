import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { RelayError } from '../errors.ts';

/** The parameter's value: JSON, because robot account names contain `$` and `+` (never split on a separator). */
const CredentialsSchema = z.object({ username: z.string().min(1), password: z.string().min(1) });

/** Harbor credentials as the registry client takes them. */
export type HarborCredentials = z.infer<typeof CredentialsSchema>;

/**
 * Reads the Harbor robot credentials from an SSM SecureString parameter (decrypted by SSM), so they
 * never sit in the function's environment as plain text. Called once per cold start by the wiring.
 * Errors name the parameter, never its value.
 */
export async function fetchHarborCredentials(ssm: SSMClient, name: string): Promise<HarborCredentials> {
  let value: string | undefined;
  try {
    value = (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter?.Value;
  } catch (err) {
    throw new RelayError('CONFIG_INVALID', `cannot read Harbor credentials from SSM parameter ${name}: ${(err as Error).name}`, { cause: err, retryable: true });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(value ?? '');
  } catch {
    parsed = undefined;
  }
  const credentials = CredentialsSchema.safeParse(parsed);
  if (!credentials.success) {
    throw new RelayError('CONFIG_INVALID', `SSM parameter ${name} must hold JSON {"username": "...", "password": "..."}`);
  }
  return credentials.data;
}
