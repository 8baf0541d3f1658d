import { inject } from 'vitest';
import type { Fixtures } from '../../infra/local/fixtures/push-fixtures.ts';
import type { StandInUsers } from '../../infra/local/harbor-users.ts';

/** What global setup hands to integration test files about the shared stand-in (all JSON-serialisable). */
export interface StandInInfo {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  users: StandInUsers;
}

declare module 'vitest' {
  export interface ProvidedContext {
    standIn: StandInInfo;
    fixtures: Fixtures;
  }
}

/** The shared stand-in and its fixtures, provided by test/support/global-setup.ts. */
export function useStandIn(): { standIn: StandInInfo; fixtures: Fixtures } {
  return { standIn: inject('standIn'), fixtures: inject('fixtures') };
}
