import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Tools the baselines run, with the Debian package that ships each. */
const REQUIRED_TOOLS = [
  { command: 'curl', apt: 'curl' },
  { command: 'openssl', apt: 'openssl' },
  { command: 'tar', apt: 'tar' },
  { command: 'gzip', apt: 'gzip' },
  { command: 'docker-registry', apt: 'docker-registry' },
] as const;

/** What the machine offers the bench; optional tools only skip their figure. */
export interface Prerequisites {
  skopeo: boolean;
  /** Path of autocannon's CLI script, run as a child process so the load generator has its own event loop. */
  autocannon: string;
}

/**
 * Checks everything the bench needs before it starts anything, and throws one message that names
 * every missing piece and the command that installs it.
 */
export function checkPrerequisites(): Prerequisites {
  const problems: string[] = [];
  const missing = REQUIRED_TOOLS.filter((tool) => !onPath(tool.command));
  if (missing.length > 0) {
    problems.push(`missing ${missing.map((tool) => tool.command).join(', ')}; install: apt-get install -y ${missing.map((tool) => tool.apt).join(' ')}`);
  }
  if (!existsSync('/proc/self/status')) problems.push('/proc is not mounted: peak RSS is read from /proc/<pid>/status (Linux only)');
  let autocannon = '';
  try {
    autocannon = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  } catch {
    problems.push('autocannon is not installed; run: npm ci');
  }
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) problems.push(`Node ${process.versions.node} runs the bench; run it as \`npm run bench\` so the pinned Node 24 is used`);
  if (problems.length > 0) throw new Error(`bench prerequisites:\n  - ${problems.join('\n  - ')}`);
  return { skopeo: onPath('skopeo'), autocannon };
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}
