import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEMPLATE_FILE } from '../../scripts/check-package.ts';

/** A `serverless package` output in a temp directory. */
export interface PackagedService {
  dir: string;
  /** The CloudFormation template osls wrote (what `serverless deploy` would send). */
  templatePath: string;
  remove(): void;
}

/** osls + esbuild bundle four functions in a few seconds; the budget covers a loaded 2-core machine. */
export const PACKAGE_TIMEOUT_MS = 240_000;

/** Runs `npm run package`'s osls + serverless-esbuild offline, into a fresh temp dir (the same run as CI). */
export function packageService(): PackagedService {
  const dir = mkdtempSync(join(tmpdir(), 'layer-relay-package-'));
  const run = spawnSync('npx', ['serverless', 'package', '--stage', 'test', '--region', 'eu-west-1', '--package', dir], { encoding: 'utf8', timeout: PACKAGE_TIMEOUT_MS });
  if (run.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`serverless package failed:\n${run.stdout}\n${run.stderr}`);
  }
  return { dir, templatePath: join(dir, TEMPLATE_FILE), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
