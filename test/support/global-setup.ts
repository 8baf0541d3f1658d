import type { TestProject } from 'vitest/node';
import { pushFixtures } from '../../infra/local/fixtures/push-fixtures.ts';
import { startStandIn } from '../../infra/local/harbor-standin.ts';
import { ensureSystemDeps } from '../../infra/local/system-deps.ts';
import './standin-context.ts';

/**
 * Vitest global setup for integration tests: one stand-in (real registry behind the Harbor-shaped
 * front) for the whole run, fixtures pushed once, and what tests need passed with `provide`.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const deps = ensureSystemDeps();
  const standIn = await startStandIn();
  try {
    const fixtures = await pushFixtures({ url: standIn.url, host: standIn.host, ...standIn.users.admin }, deps);
    project.provide('standIn', { url: standIn.url, host: standIn.host, users: standIn.users });
    project.provide('fixtures', fixtures);
  } catch (err) {
    await standIn.stop();
    throw err;
  }
  if (process.env.LAYER_RELAY_TIMINGS) console.log(`stand-in ready with fixtures in ${Date.now() - started} ms at ${standIn.url}`);
  return () => standIn.stop();
}
