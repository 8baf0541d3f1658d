import { lstatSync, mkdirSync, mkdtempSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutputDirectory } from '../../../cli/get/output-directory.ts';
import { OUTPUT_MARKER } from '../../../cli/get/output-marker.ts';

function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'cli-outdir-'));
  const home = join(root, 'home/user');
  const cwd = join(root, 'work');
  mkdirSync(home, { recursive: true });
  mkdirSync(cwd, { recursive: true });
  return { root, home, cwd };
}

const refusal = async (promise: Promise<unknown>) => {
  const err = (await promise.then(() => undefined, (e: unknown) => e)) as { code?: string; message?: string } | undefined;
  expect(err?.code).toBe('OUTPUT_REFUSED');
  return err!.message!;
};

describe('checkOutputDirectory', () => {
  it('refuses $HOME and every ancestor of it (B5), using the HOME it is given', async () => {
    const ws = workspace();
    expect(await refusal(checkOutputDirectory(ws.home, { cwd: ws.cwd, home: ws.home, force: true }))).toMatch(/it is the home directory/);
    expect(await refusal(checkOutputDirectory(dirname(ws.home), { cwd: ws.cwd, home: ws.home, force: true }))).toMatch(/it holds the home directory/);
    expect(await refusal(checkOutputDirectory(ws.root, { cwd: tmpdir(), home: ws.home, force: true }))).toMatch(/it holds the home directory/);
  });

  it.each(['/opt', '/etc', '/usr', '/var'])('refuses %s, a populated directory directly under /, even with --force', async (dir) => {
    const ws = workspace();
    expect(await refusal(checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: true }))).toMatch(/populated directory directly under \//);
  });

  it('takes a directory directly under / that does not exist yet (a container\'s /app): nothing is there to lose', async () => {
    const ws = workspace();
    await checkOutputDirectory(`/layer-relay-test-${process.pid}-absent`, { cwd: ws.cwd, home: ws.home, force: false });
  });

  it('refuses to replace a non-empty directory layer-relay did not write, unless --force', async () => {
    const ws = workspace();
    const dir = join(ws.root, 'deploy/app');
    mkdirSync(dir, { recursive: true });
    await checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: false }); // empty: fine
    writeFileSync(join(dir, 'precious.txt'), 'not ours');
    expect(await refusal(checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: false }))).toMatch(/not empty and was not written by layer-relay \(no \.layer-relay\.json\); pass --force/);
    await checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: true });
    writeFileSync(join(dir, OUTPUT_MARKER), JSON.stringify({ tool: 'layer-relay', image: 'harbor.test/t/app:1', manifestDigest: 'sha256:00' }));
    await checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: false });
  });

  it('replaces a release of the same repository, but not another repository\'s deployment without --force', async () => {
    const ws = workspace();
    const dir = join(ws.root, 'opt/app');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'app'), 'v1 binary');
    writeFileSync(join(dir, OUTPUT_MARKER), JSON.stringify({ tool: 'layer-relay', image: 'harbor.test/team/app:1.0', platform: 'linux/amd64', manifestDigest: 'sha256:00' }));
    await checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: false, repository: 'harbor.test/team/app' });
    const other = { cwd: ws.cwd, home: ws.home, repository: 'harbor.test/team/other' };
    expect(await refusal(checkOutputDirectory(dir, { ...other, force: false }))).toMatch(/it holds harbor\.test\/team\/app \(\.layer-relay\.json\), not harbor\.test\/team\/other; pass --force/);
    await checkOutputDirectory(dir, { ...other, force: true });
  });

  it('does not take a marker that is not a layer-relay marker', async () => {
    const ws = workspace();
    const dir = join(ws.root, 'app');
    mkdirSync(dir);
    writeFileSync(join(dir, OUTPUT_MARKER), 'hello');
    await refusal(checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: false }));
  });

  it('refuses a mount point up front (B8): rename(2) over it can only fail with EBUSY', async () => {
    const ws = workspace();
    const dir = join(ws.root, 'volume');
    mkdirSync(dir);
    // A mount point is a directory on another device than its parent; the test makes DIR look like one.
    const otherDevice = async (path: string): Promise<Stats> => {
      const info = await lstat(path);
      return path === dir ? Object.assign(Object.create(Object.getPrototypeOf(info) as object) as Stats, info, { dev: info.dev + 1 }) : info;
    };
    expect(await refusal(checkOutputDirectory(dir, { cwd: ws.cwd, home: ws.home, force: true, lstat: otherDevice }))).toMatch(/it is a mount point; use a sub-directory of it/);
  });

  it('refuses a real mount point when this machine has one below /dev (/dev/shm)', async (ctx) => {
    let mounted = false;
    try {
      mounted = statSync('/dev/shm').dev !== statSync('/dev').dev;
    } catch {}
    if (!mounted) ctx.skip('/dev/shm is not a mount point here');
    const ws = workspace();
    expect(await refusal(checkOutputDirectory('/dev/shm', { cwd: ws.cwd, home: ws.home, force: true }))).toMatch(/mount point/);
    expect(lstatSync('/dev/shm').isDirectory()).toBe(true);
  });
});
