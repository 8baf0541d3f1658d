import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { useStandIn } from '../../support/standin-context.ts';
import { startTestRelay, type TestRelay } from '../../support/test-relay.ts';
import { pushCraftedImage, type CraftedEntry } from '../files/push-crafted-layer.ts';
import { startByteCountingProxy, type CountedResponse } from './byte-counting-proxy.ts';
import { freePort } from '../../../infra/local/free-port.ts';
import { cliWorkspace, runCli, snapshotTree } from './cli-harness.ts';

const { standIn, fixtures } = useStandIn();
/** The file get leaves in DIR so that the next get may replace it (output-marker.ts). */
const MARKER = '.layer-relay.json';
const adminEnv = { HARBOR_URL: standIn.url, HARBOR_USERNAME: standIn.users.admin.username, HARBOR_PASSWORD: standIn.users.admin.password };

/**
 * host (CLI) → fault proxy (cuts connections on demand) → byte counter (what the relay sent) → relay.
 * The relay signs its object URLs for the fault proxy's address (RELAY_PUBLIC_URL), so layer
 * downloads take the same path as API calls.
 */
let relay: TestRelay;
let faults: FaultProxy;
let counter: { url: string; responses: CountedResponse[]; stop(): Promise<void> };
let relayEnv: Record<string, string>;

beforeAll(async () => {
  const port = await freePort();
  counter = await startByteCountingProxy(`http://127.0.0.1:${port}`);
  faults = await startFaultProxy({ target: counter.url });
  relay = await startTestRelay({ ...adminEnv, PORT: String(port), RELAY_PUBLIC_URL: faults.url });
  relayEnv = { LAYER_RELAY_URL: faults.url };
});
afterAll(async () => {
  await relay?.stop();
  await faults?.stop();
  await counter?.stop();
});

describe('layer-relay get, end to end against the local relay and the registry stand-in', () => {
  it.each([
    ['busybox (index → linux/amd64, one layer)', () => fixtures.busybox.ref],
    ['two-layer (layers applied in order)', () => fixtures['two-layer'].ref],
    ['oci-zstd', () => fixtures['oci-zstd'].ref],
  ])('%s: through the relay and with --direct give identical trees', async (_, ref) => {
    const { cwd } = cliWorkspace();
    const viaRelay = await runCli(['get', ref(), '--platform', 'linux/amd64', '--output', 'relay-out'], { cwd, env: relayEnv });
    expect(viaRelay.stderr).not.toContain('layer-relay:');
    expect(viaRelay.code).toBe(0);
    const direct = await runCli(['get', ref(), '--platform', 'linux/amd64', '--output', 'direct-out', '--direct'], { cwd, env: adminEnv });
    expect(direct.code).toBe(0);
    const tree = snapshotTree(join(cwd, 'relay-out'));
    expect(Object.keys(tree).length).toBeGreaterThan(0);
    expect(snapshotTree(join(cwd, 'direct-out'))).toEqual(tree);
    expect(readdirSync(cwd).sort()).toEqual(['direct-out', 'relay-out']); // no temp directories left beside them
  });

  it('the busybox payload runs', async (ctx) => {
    if (process.arch !== 'x64') ctx.skip(`the amd64 busybox cannot run on ${process.arch}`);
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', fixtures.busybox.ref, '--platform', 'linux/amd64', '-o', 'bb', '--json'], { cwd, env: relayEnv });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, via: 'relay', platform: 'linux/amd64', output: join(cwd, 'bb'), files: 1, manifestDigest: fixtures.busybox.platforms.find((p) => p.platform === 'linux/amd64')!.manifestDigest });
    expect(execFileSync(join(cwd, 'bb/bin/busybox'), ['echo', 'ok'], { encoding: 'utf8' })).toBe('ok\n');
  });

  it('an unknown image exits 1 with one error line and a hint', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', `${standIn.host}/team/does-not-exist:v1`, '--platform', 'linux/amd64'], { cwd, env: relayEnv });
    expect(result.code).toBe(1);
    // Progress lines come first (plain output); the error itself is one line, then its hint.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.filter((line) => line.startsWith('layer-relay:'))).toHaveLength(1);
    expect(lines.at(-2)).toMatch(/^layer-relay: IMAGE_NOT_FOUND: .*does-not-exist/);
    expect(lines.at(-1)).toMatch(/^ {2}hint: /);
    expect(result.stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an unreachable relay exits 1 with RELAY_UNAVAILABLE and a hint', async () => {
    const { cwd } = cliWorkspace();
    const closed = await freePort();
    const result = await runCli(['get', fixtures.busybox.ref, '-q'], { cwd, env: { LAYER_RELAY_URL: `http://127.0.0.1:${closed}` } });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`layer-relay: RELAY_UNAVAILABLE: cannot reach the relay at http://127.0.0.1:${closed}/: ECONNREFUSED\n  hint: is the relay running? check --relay or LAYER_RELAY_URL\n`);
  });

  it('a --relay that is not a layer-relay (Harbor itself, 404 on /v1/pulls) gets "is this a layer-relay?" (N19)', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', fixtures['oci-plain'].ref, '-q', '-p', 'linux/amd64', '--relay', standIn.url], { cwd });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^layer-relay: NOT_FOUND: .*\/v1\/pulls answered 404; is this a layer-relay\?/);
  });

  it('with --json a failure is one JSON object on stdout and nothing on stderr', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', `${standIn.host}/team/does-not-exist:v1`, '--direct', '--json'], { cwd, env: adminEnv });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'IMAGE_NOT_FOUND', hint: expect.any(String) } });
  });

  it('plain output shows the pull state and each verified layer; the summary goes to stdout', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', fixtures['two-layer'].ref, '-p', 'linux/amd64', '-o', 'out'], { cwd, env: relayEnv, isTTY: false });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/pull [0-9a-f-]+: (queued|done)/);
    expect(result.stderr).toMatch(/layer 1\/2 sha256:.*digest verified/);
    expect(result.stderr).toMatch(/layer 2\/2 sha256:.*digest verified/);
    expect(result.stderr).not.toContain('\r');
    expect(result.stdout).toMatch(new RegExp(`→ ${join(cwd, 'out')}: 2 files\\n$`));
  });

  it('on a TTY it draws a progress bar with bytes, rate and ETA', async () => {
    const { cwd } = cliWorkspace();
    const { ref } = await pushCraftedImage(standIn, 'get-tty', [[{ name: 'blob.bin', body: randomBytes(256 * 1024) }]]);
    const result = await runCli(['get', ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv, isTTY: true });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\r\x1b\[Klayer 1\/1 \[#+-*\] [\d.]+ \w*B \/ 256 KiB {2}[\d.]+ \w*B\/s/);
  });

  it('--quiet prints nothing on success', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', fixtures['oci-plain'].ref, '-q', '-p', 'linux/amd64'], { cwd, env: relayEnv });
    expect(result).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(join(cwd, 'oci-plain/hello.txt'), 'utf8')).toBe('uncompressed layer\n'); // default DIR: ./REPO
  });

  it('a download cut mid-way resumes with Range, and the relay serves only the remaining bytes', async () => {
    const { cwd } = cliWorkspace();
    const { ref, image } = await pushCraftedImage(standIn, 'get-resume', [[{ name: 'big.bin', body: randomBytes(3 * 1024 * 1024) }]]);
    const layer = image.layers[0]!;
    const objectPath = `/objects/blobs/sha256/${layer.digest.slice('sha256:'.length)}`;
    const cutAt = 1024 * 1024;
    faults.addRule({ match: { method: 'GET', path: objectPath }, times: 1, action: { type: 'reset', afterBytes: cutAt } });
    const result = await runCli(['get', ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv, isTTY: false });
    expect(result.stderr).not.toContain('layer-relay:');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/connection dropped, resuming at/);

    const gets = faults.requests.filter((r) => r.path === objectPath);
    expect(gets.map((r) => [r.status, r.ruleApplied])).toEqual([[200, 'reset'], [206, undefined]]);
    const served = counter.responses.filter((r) => r.path === objectPath);
    expect(served).toHaveLength(2);
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(served[1]!.range ?? '')?.[1]);
    // Bytes still in the client's socket buffer when the connection died are asked for again.
    expect(resumedFrom).toBeGreaterThan(cutAt / 2);
    expect(resumedFrom).toBeLessThanOrEqual(cutAt);
    expect(served[1]).toMatchObject({ status: 206, bytes: layer.size - resumedFrom });
    expect(readFileSync(join(cwd, 'out/big.bin')).length).toBe(3 * 1024 * 1024);
  });

  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ])('%s mid-download exits %i saying "interrupted", and leaves DIR and its parent as they were (N6)', async (signal, exitCode) => {
    const { cwd } = cliWorkspace();
    const { ref, image } = await pushCraftedImage(standIn, `get-${signal.toLowerCase()}`, [[{ name: 'big.bin', body: randomBytes(1024 * 1024) }]]);
    const objectPath = `/objects/blobs/sha256/${image.layers[0]!.digest.slice('sha256:'.length)}`;
    faults.addRule({ match: { method: 'GET', path: objectPath }, times: 1, action: { type: 'throttle', bytesPerSecond: 64 * 1024 } });
    const controller = new AbortController();
    const running = runCli(['get', ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv, isTTY: false, signal: controller.signal });
    // The throttled layer takes 16 s; the pull itself is done in well under a second.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    controller.abort(signal);
    const result = await running;
    const stderr = result.stderr;
    expect(stderr).toMatch(/layer 1\/1|pull .*: done/);
    expect(result.code).toBe(exitCode);
    expect(stderr.trimEnd().split('\n').at(-1)).toBe(`layer-relay: interrupted (${signal}); the output directory was not changed`);
    expect(stderr).not.toContain('hint:');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('as a real process, a second Ctrl-C still lets the first one clean up: exit 130, nothing left beside DIR (N6)', async () => {
    const { cwd } = cliWorkspace();
    const { ref, image } = await pushCraftedImage(standIn, 'get-two-sigint', [[{ name: 'big.bin', body: randomBytes(1024 * 1024) }]]);
    const objectPath = `/objects/blobs/sha256/${image.layers[0]!.digest.slice('sha256:'.length)}`;
    faults.addRule({ match: { method: 'GET', path: objectPath }, times: 1, action: { type: 'throttle', bytesPerSecond: 64 * 1024 } });
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../../cli/bin.js', import.meta.url)), 'get', ref, '-p', 'linux/amd64', '-o', 'out'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: join(cwd, 'home'), ...relayEnv },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    for (const deadline = Date.now() + 10_000; !stderr.includes(': done') && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300)); // into the download
    child.kill('SIGINT');
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('layer-relay: interrupted (SIGINT)');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an expired signed URL is renewed and said so, not reported as a dropped connection (N7)', async () => {
    const { cwd } = cliWorkspace();
    const { ref, image } = await pushCraftedImage(standIn, 'get-expired', [[{ name: 'app', body: randomBytes(64 * 1024) }]]);
    const objectPath = `/objects/blobs/sha256/${image.layers[0]!.digest.slice('sha256:'.length)}`;
    faults.addRule({ match: { method: 'GET', path: objectPath }, times: 1, action: { type: 'status', status: 403 } });
    const result = await runCli(['get', ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv, isTTY: false });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('layer 1/1: signed URL expired, fetching a new one');
    expect(result.stderr).not.toContain('connection dropped');
  });

  it('the package bin (cli/bin.js) runs get as a real process, which exits by itself when done', async () => {
    const { cwd } = cliWorkspace();
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../../cli/bin.js', import.meta.url)), 'get', fixtures['oci-plain'].ref, '-p', 'linux/amd64', '-o', 'out', '--json'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: join(cwd, 'home'), ...relayEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => void (stdout += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, output: join(cwd, 'out'), files: 1 });
  });

  it('a populated DIR that layer-relay did not write is refused (B5); --force replaces it, and its marker lets the next get replace it', async () => {
    const { cwd } = cliWorkspace();
    mkdirSync(join(cwd, 'out'));
    writeFileSync(join(cwd, 'out/precious'), 'not from layer-relay');
    const refused = await runCli(['get', fixtures['docker-single'].ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^layer-relay: OUTPUT_REFUSED: will not replace .*\/out: it is not empty and was not written by layer-relay \(no \.layer-relay\.json\); pass --force/m);
    expect(readdirSync(join(cwd, 'out'))).toEqual(['precious']);

    const forced = await runCli(['get', fixtures['docker-single'].ref, '-o', 'out', '-p', 'linux/amd64', '--force'], { cwd, env: relayEnv });
    expect(forced.code).toBe(0);
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([MARKER, 'hello.txt']);
    expect(JSON.parse(readFileSync(join(cwd, 'out', MARKER), 'utf8'))).toEqual({ tool: 'layer-relay', image: fixtures['docker-single'].ref, platform: 'linux/amd64', manifestDigest: expect.stringMatching(/^sha256:/) });

    writeFileSync(join(cwd, 'out/old-file'), 'from the previous deploy');
    // Another repository's deployment is not replaced by a slip of -o ...
    const other = await runCli(['get', fixtures['oci-plain'].ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/OUTPUT_REFUSED: will not replace .*\/out: it holds .*team\/.* \(\.layer-relay\.json\), not .*; pass --force/);
    // ... while the next release of the same repository replaces the last one, old files and all.
    const again = await runCli(['get', fixtures['docker-single'].ref, '-o', 'out', '-p', 'linux/amd64'], { cwd, env: relayEnv });
    expect(again.code).toBe(0);
    expect(readdirSync(join(cwd, 'out')).sort()).toEqual([MARKER, 'hello.txt']);
    expect(readdirSync(cwd)).toEqual(['out']);
  });

  it('an ancestor of $HOME is refused as DIR (B5), with the HOME of the environment given', async () => {
    const { cwd, home } = cliWorkspace();
    mkdirSync(join(home, 'user'), { recursive: true });
    writeFileSync(join(home, 'user/precious.txt'), 'mine');
    const result = await runCli(['get', fixtures['docker-single'].ref, '-o', 'home', '-p', 'linux/amd64', '--force', '-q'], { cwd, env: { ...relayEnv, HOME: join(home, 'user') } });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/OUTPUT_REFUSED: will not replace .*\/home: it holds the home directory/);
    expect(readFileSync(join(home, 'user/precious.txt'), 'utf8')).toBe('mine');
  });

  it('a failed get removes the parents it created for --output (N11)', async () => {
    const { cwd } = cliWorkspace();
    const result = await runCli(['get', `${standIn.host}/team/does-not-exist:v1`, '-o', 'a/b/c', '-p', 'linux/amd64', '-q', '--direct'], { cwd, env: adminEnv });
    expect(result.code).toBe(1);
    const { ref } = await pushCraftedImage(standIn, 'n11', [[{ name: '../escape', body: 'x' }]]);
    const refused = await runCli(['get', ref, '-o', 'a/b/c', '-p', 'linux/amd64', '-q'], { cwd, env: relayEnv });
    expect(refused.stderr).toMatch(/UNSAFE_ENTRY/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an image without layers is refused and DIR keeps its files (N12)', async () => {
    const { cwd } = cliWorkspace();
    const { ref } = await pushCraftedImage(standIn, 'n12', []);
    mkdirSync(join(cwd, 'out'));
    writeFileSync(join(cwd, 'out/app'), 'previous release');
    const result = await runCli(['get', ref, '-o', 'out', '-p', 'linux/amd64', '--force', '-q'], { cwd, env: relayEnv });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^layer-relay: UNSUPPORTED_MANIFEST: the image .* has no layers/);
    expect(readdirSync(join(cwd, 'out'))).toEqual(['app']);
  });
});

describe('layer-relay get against a relay that wants credentials', () => {
  it('RELAY_AUTH=token: no token exits 1 with UNAUTHENTICATED; LAYER_RELAY_TOKEN (as Bearer) works', async () => {
    const token = randomBytes(24).toString('hex');
    const guarded = await startTestRelay({ ...adminEnv, RELAY_AUTH: 'token', RELAY_TOKENS: JSON.stringify([{ name: 'deploy', token, repositories: ['team/**'] }]) });
    try {
      const { cwd } = cliWorkspace();
      const refused = await runCli(['get', fixtures['oci-plain'].ref, '-p', 'linux/amd64', '-q'], { cwd, env: { LAYER_RELAY_URL: guarded.url } });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^layer-relay: UNAUTHENTICATED: .*\n {2}hint: the relay wants credentials/);
      const allowed = await runCli(['get', fixtures['oci-plain'].ref, '-p', 'linux/amd64', '-q', '-o', 'out'], { cwd, env: { LAYER_RELAY_URL: guarded.url, LAYER_RELAY_TOKEN: token } });
      expect(allowed).toEqual({ code: 0, stdout: '', stderr: '' });
      expect(readdirSync(join(cwd, 'out')).sort()).toEqual([MARKER, 'hello.txt']);
    } finally {
      await guarded.stop();
    }
  });

  it('RELAY_AUTH=harbor: the Harbor login in LAYER_RELAY_USERNAME/PASSWORD is sent as Basic and never printed', async () => {
    const guarded = await startTestRelay({ ...adminEnv, RELAY_AUTH: 'harbor' });
    try {
      const { cwd } = cliWorkspace();
      const robot = standIn.users.robot;
      const ok = await runCli(['get', fixtures['oci-plain'].ref, '-p', 'linux/amd64', '-o', 'out'], { cwd, env: { LAYER_RELAY_URL: guarded.url, LAYER_RELAY_USERNAME: robot.username, LAYER_RELAY_PASSWORD: robot.password } });
      expect(ok.code).toBe(0);
      const wrong = await runCli(['get', fixtures['oci-plain'].ref, '-p', 'linux/amd64', '-o', 'out2'], { cwd, env: { LAYER_RELAY_URL: guarded.url, LAYER_RELAY_USERNAME: robot.username, LAYER_RELAY_PASSWORD: 'not-the-password' } });
      expect(wrong.code).toBe(1);
      expect(`${ok.stderr}${ok.stdout}${wrong.stderr}`).not.toContain(robot.password);
      expect(wrong.stderr).not.toContain('not-the-password');
    } finally {
      await guarded.stop();
    }
  });
});

describe('malicious layers (field cases J): nothing outside DIR, the documented outcome, DIR untouched on refusal', () => {
  /** Gets a crafted image into an existing DIR holding a sentinel; returns the run and the workspace. */
  async function getCrafted(name: string, layers: CraftedEntry[][], extraArgs: string[] = []) {
    const { ref } = await pushCraftedImage(standIn, name, layers);
    const { cwd } = cliWorkspace();
    const parent = join(cwd, 'deploy');
    mkdirSync(join(parent, 'app'), { recursive: true });
    writeFileSync(join(parent, 'app/sentinel'), 'previous release');
    // --force: DIR holds a sentinel but no marker; the refusals below must come from the layer itself.
    const result = await runCli(['get', ref, '-o', 'deploy/app', '-p', 'linux/amd64', '--force', ...extraArgs], { cwd, env: relayEnv, isTTY: false });
    return { result, cwd, parent, dir: join(parent, 'app') };
  }
  const untouched = (ws: { cwd: string; parent: string; dir: string }) => {
    expect(readdirSync(ws.dir)).toEqual(['sentinel']);
    expect(readFileSync(join(ws.dir, 'sentinel'), 'utf8')).toBe('previous release');
    expect(readdirSync(ws.parent)).toEqual(['app']); // no temp tree left, nothing written beside DIR
    expect(readdirSync(ws.cwd).sort()).toEqual(['deploy']);
  };

  it.each([
    ['J1 ../ name', [{ name: 'ok', body: 'ok' }, { name: '../../escape', body: 'pwned' }]],
    ['J1 absolute name', [{ name: `/tmp/layer-relay-pwned-${randomBytes(4).toString('hex')}`, body: 'pwned' }]],
    ['J2 entry through a symlink leaving DIR', [{ name: 'up', type: 'symlink', linkname: '../../..' }, { name: 'up/escape', body: 'pwned' }]],
    ['J3 hard link outside the root', [{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }]],
    ['J3 hard link climbing out', [{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }]],
  ] as Array<[string, CraftedEntry[]]>)('%s: refused with UNSAFE_ENTRY, exit 1, DIR untouched', async (name, entries) => {
    const ws = await getCrafted(name.split(' ')[0]!.toLowerCase(), [entries]);
    expect(ws.result.code).toBe(1);
    expect(ws.result.stderr).toMatch(/^layer-relay: UNSAFE_ENTRY: /m);
    untouched(ws);
    expect(existsSync(join(ws.cwd, '..', 'escape'))).toBe(false);
    for (const entry of entries) if (entry.name.startsWith('/tmp/')) expect(existsSync(entry.name)).toBe(false);
  });

  it('J2: a symlink leaving DIR alone is kept as a link, and nothing is written where it points', async () => {
    const ws = await getCrafted('j2-kept', [[{ name: 'up', type: 'symlink', linkname: '../../..' }, { name: 'bin/app', body: 'app' }]]);
    expect(ws.result.code).toBe(0);
    expect(lstatSync(join(ws.dir, 'up')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(ws.dir, 'up'))).toBe('../../..');
    expect(readdirSync(ws.parent)).toEqual(['app']);
  });

  it('B5: a layer entry named like the marker (a symlink out of DIR) is replaced by the marker, never written through', async () => {
    const outside = join(cliWorkspace().cwd, 'victim');
    writeFileSync(outside, 'untouched');
    const ws = await getCrafted('marker-link', [[{ name: '.layer-relay.json', type: 'symlink', linkname: outside }, { name: 'app', body: 'app' }]]);
    expect(ws.result.code).toBe(0);
    expect(readFileSync(outside, 'utf8')).toBe('untouched');
    expect(lstatSync(join(ws.dir, MARKER)).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(join(ws.dir, MARKER), 'utf8'))).toMatchObject({ tool: 'layer-relay' });
  });

  it('J4: whiteouts are never written; across layers they remove lower files and opaque markers empty directories', async () => {
    const ws = await getCrafted('j4', [
      [{ name: 'etc/old.conf', body: 'old' }, { name: 'etc/keep.conf', body: 'keep' }, { name: 'lib/a.so', body: 'a' }, { name: 'lib/b.so', body: 'b' }],
      [{ name: 'etc/.wh.old.conf', body: '' }, { name: 'lib/.wh..wh..opq', body: '' }, { name: 'lib/c.so', body: 'c' }, { name: '.wh.nothing', body: '' }],
    ]);
    expect(ws.result.code).toBe(0);
    expect(snapshotTree(ws.dir)).toEqual({
      [MARKER]: expect.stringMatching(/^file 644 /),
      etc: 'dir 755',
      'etc/keep.conf': expect.stringMatching(/^file 644 /),
      lib: 'dir 755',
      'lib/c.so': expect.stringMatching(/^file 644 /),
    });
  });

  it('J5: ./ entries and leading ./ are accepted and normalised', async () => {
    const ws = await getCrafted('j5', [[{ name: './', type: 'directory' }, { name: './bin/', type: 'directory' }, { name: './bin/tool', body: 'tool', mode: 0o755 }]]);
    expect(ws.result.code).toBe(0);
    expect(snapshotTree(ws.dir)).toEqual({ [MARKER]: expect.stringMatching(/^file 644 /), bin: 'dir 755', 'bin/tool': expect.stringMatching(/^file 755 /) });
  });

  it('J6: device nodes and FIFOs are skipped with a note, never created', async () => {
    const ws = await getCrafted('j6', [[{ name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 }, { name: 'dev/sda', type: 'block-device' }, { name: 'pipe', type: 'fifo' }, { name: 'app', body: 'app' }]]);
    expect(ws.result.code).toBe(0);
    expect(ws.result.stderr).toContain('skipped dev/null: character-device entries are not extracted');
    expect(ws.result.stderr).toContain('skipped pipe: fifo entries are not extracted');
    expect(Object.keys(snapshotTree(ws.dir))).toEqual([MARKER, 'app']);
  });

  it('B4: a layer cannot drive the terminal or forge log lines through skipped names; skipped lines are capped', async () => {
    const evil = 'x\x1b[2J\x1b[31mFAKE: all good\nlayer-relay: done\x07';
    const fifos = Array.from({ length: 30 }, (_, i) => ({ name: `p${String(i).padStart(2, '0')}`, type: 'fifo' as const }));
    const ws = await getCrafted('b4', [[{ name: evil, type: 'fifo' }, ...fifos, { name: 'app', body: 'app' }]]);
    expect(ws.result.code).toBe(0);
    expect(ws.result.stderr).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f]/); // no control character but the line ends
    expect(ws.result.stderr).not.toMatch(/^layer-relay: done/m);
    expect(ws.result.stderr).toContain('skipped x?[2J?[31mFAKE: all good?layer-relay: done?: fifo entries are not extracted');
    expect(ws.result.stderr.match(/^ {2}skipped /gm)).toHaveLength(20);
    expect(ws.result.stderr).toContain('  … and 11 more skipped entries in this layer');
    expect(ws.result.stdout).toMatch(/: 1 file\n$/);

    const { cwd } = cliWorkspace();
    const json = await runCli(['get', (await pushCraftedImage(standIn, 'b4-json', [Array.from({ length: 150 }, (_, i) => ({ name: `f\x1b${i}`, type: 'fifo' as const }))])).ref, '-o', 'out', '-p', 'linux/amd64', '--json'], { cwd, env: relayEnv });
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { skipped: { path: string }[]; skippedCount: number; files: number };
    expect(result.skippedCount).toBe(150);
    expect(result.skipped).toHaveLength(100);
    expect(result.skipped[0]!.path).toBe('f?0');
  });

  it('J7: a layer past --max-bytes, or past --max-entries, fails with LIMIT_EXCEEDED and leaves DIR untouched', async () => {
    const bomb = await getCrafted('j7-bytes', [[{ name: 'zeros', body: Buffer.alloc(12 * 1024 * 1024) }]], ['--max-bytes', '4M']);
    expect(bomb.result.code).toBe(1);
    expect(bomb.result.stderr).toMatch(/^layer-relay: LIMIT_EXCEEDED: layer expands to more than 4194304 bytes/m);
    expect(bomb.result.stderr).toContain('hint: if the layer is genuine, raise --max-entries / --max-bytes');
    untouched(bomb);
    const many = await getCrafted('j7-entries', [Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, body: 'x' }))], ['--max-entries', '20']);
    expect(many.result.code).toBe(1);
    expect(many.result.stderr).toMatch(/LIMIT_EXCEEDED: layer has more than 20 entries/);
    untouched(many);
  });
});
