import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.ts';
import { prepareLocalPaths } from '../../shared/prepare-local-paths.ts';

const work = mkdtempSync(join(tmpdir(), 'relay-paths-'));
const file = join(work, 'a-file');
writeFileSync(file, 'not a directory');
mkdirSync(join(work, 'a-dir'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const configFor = (env: Record<string, string>) => loadConfig({ HARBOR_URL: 'https://harbor.example.com', ...env }, work);

/** The problems of the CONFIG_INVALID error prepareLocalPaths throws, or [] when it does not. */
function problemsOf(env: Record<string, string>): string[] {
  try {
    prepareLocalPaths(configFor(env));
    return [];
  } catch (err) {
    expect(err).toMatchObject({ code: 'CONFIG_INVALID' });
    return (err as { details: { problems: string[] } }).details.problems;
  }
}

describe('prepareLocalPaths', () => {
  it('creates the store directory and the queue file’s directory', () => {
    expect(problemsOf({ RELAY_STORE: 'file:./fresh/store', RELAY_QUEUE: 'sqlite:./fresh/queue/relay.sqlite' })).toEqual([]);
    expect(statSync(join(work, 'fresh/store')).isDirectory()).toBe(true);
    expect(statSync(join(work, 'fresh/queue')).isDirectory()).toBe(true);
  });

  it.each([
    ['a store under a file (ENOTDIR)', { RELAY_STORE: `file:${file}/x` }, [`RELAY_STORE: cannot use ${file}/x: ${file} is a file, not a directory`]],
    ['a store that is a file (EEXIST)', { RELAY_STORE: `file:${file}` }, [`RELAY_STORE: cannot use ${file}: ${file} is a file, not a directory`]],
    ['a queue under a file', { RELAY_QUEUE: `sqlite:${file}/q.sqlite` }, [`RELAY_QUEUE: cannot use ${file}/q.sqlite: ${file} is a file, not a directory`]],
    ['a queue that is a directory', { RELAY_QUEUE: `sqlite:${join(work, 'a-dir')}` }, [`RELAY_QUEUE: cannot use ${join(work, 'a-dir')}: it is a directory, not a database file`]],
    ['a store under a file, with the default queue inside it: once', { RELAY_STORE: `file:${file}/y` }, [expect.stringMatching(/^RELAY_STORE: /)]],
    ['both at once', { RELAY_STORE: `file:${file}/x`, RELAY_QUEUE: `sqlite:${file}/q.sqlite` }, [expect.stringMatching(/^RELAY_STORE: /), expect.stringMatching(/^RELAY_QUEUE: /)]],
  ])('reports %s as CONFIG_INVALID naming the variable', (_, env, expected) => {
    expect(problemsOf(env)).toEqual(expected);
  });

  it.skipIf(process.getuid?.() === 0)('reports a directory it may not write (EACCES) as CONFIG_INVALID naming the variable', () => {
    const locked = join(work, 'locked');
    mkdirSync(locked, { mode: 0o500 });
    try {
      expect(problemsOf({ RELAY_STORE: `file:${locked}/store` })).toEqual([`RELAY_STORE: cannot use ${locked}/store: no permission to create or write ${locked}/store`]);
    } finally {
      chmodSync(locked, 0o700);
    }
  });

  it('leaves an in-memory queue and an S3 store alone', () => {
    expect(problemsOf({ RELAY_QUEUE: 'sqlite::memory:' })).toEqual([]);
    expect(problemsOf({ RELAY_STORE: `s3://relay-bucket`, AWS_REGION: 'us-east-1', RELAY_QUEUE: `sqlite:${join(work, 'q2.sqlite')}` })).toEqual([]);
  });
});
