import { isRelayError, type RelayError } from '../../shared/errors.ts';

/** The error `promise` rejects with; fails the test if it resolves instead. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/** The RelayError a promise rejects with; fails the test when it resolves or throws something else. */
export async function failure(promise: Promise<unknown>): Promise<RelayError> {
  const err = await rejection(promise);
  if (isRelayError(err)) return err;
  throw err;
}
