/**
 * `npm run demo`: the main job end to end on the embedded default, printed step by step.
 * Starts the Harbor stand-in (real registry) with the fixtures, runs `layer-relay serve` as a
 * child process pointed at it, pulls the multi-arch busybox image for linux/arm64 through the
 * HTTP API, downloads the layer through its signed URL, verifies it, extracts it, and shows the
 * busybox binary is the arm64 one. Then stops everything it started, also on Ctrl-C or SIGTERM.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { pushFixtures } from '../infra/local/fixtures/push-fixtures.ts';
import { startStandIn, type StandIn } from '../infra/local/harbor-standin.ts';
import { freePort } from '../infra/local/free-port.ts';
import { serveNodeFlags, stopChild, waitForHealth } from '../infra/local/relay-child.ts';
import { ensureSystemDeps } from '../infra/local/system-deps.ts';
import { extractLayer } from '../shared/layer/extract-layer.ts';
import type { PullRecord } from '../shared/pull-record.ts';

const PLATFORM = 'linux/arm64';
/** ELF e_machine values (System V ABI): what the binary was built for. */
const ELF_MACHINES: Record<number, string> = { 0x3e: 'x86-64 (amd64)', 0xb7: 'AArch64 (arm64)', 0x28: 'ARM (32-bit)' };
const root = fileURLToPath(new URL('..', import.meta.url));

let step = 0;
const announce = (text: string) => console.log(`\n[${++step}] ${text}`);
/** The next step of the demo; none starts once a signal asked to stop. */
const say = (text: string) => {
  if (interrupted) throw new Error('interrupted');
  announce(text);
};
const detail = (text: string) => console.log(`    ${text}`);

/** What the demo has started, for the one cleanup that both the normal end and a signal run. */
const started: { work?: string; standIn?: Promise<StandIn>; relay?: ChildProcess } = {};
let stopping: Promise<void> | undefined;
/** After a signal, how long the step in flight may take to unwind (its servers are gone, so it fails fast). */
const STEP_UNWIND_MS = 5_000;
let interrupted: NodeJS.Signals | undefined;

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'layer-relay-demo-'));
  started.work = work;
  try {
    say('Checking the Debian tools the stand-in needs (docker-registry, skopeo, zstd, busybox-static)');
    const busybox = ensureSystemDeps();
    detail(`busybox binaries: amd64 ${busybox.busyboxAmd64}, arm64 ${busybox.busyboxArm64}`);

    say('Starting the Harbor stand-in: the real docker-registry behind a Harbor-shaped token service');
    started.standIn = startStandIn();
    const standIn = await started.standIn;
    detail(`Harbor at ${standIn.url} (token service ${standIn.url}/service/token)`);
    const fixtures = await pushFixtures({ url: standIn.url, host: standIn.host, ...standIn.users.admin }, busybox, work);
    const image = fixtures.busybox;
    detail(`pushed ${Object.keys(fixtures).length} fixture images; ${image.ref} is a multi-arch index (pushed with skopeo):`);
    for (const platform of image.platforms) detail(`  ${platform.platform.padEnd(14)} manifest ${platform.manifestDigest.slice(0, 19)}…  layer ${platform.layers[0]?.digest.slice(0, 19)}…`);

    say(`Starting the relay: layer-relay serve, pulling as the robot account ${standIn.users.robot.username}`);
    const port = await freePort();
    const relay = spawnRelay(work, {
      HARBOR_URL: standIn.url,
      HARBOR_USERNAME: standIn.users.robot.username,
      HARBOR_PASSWORD: standIn.users.robot.password,
      RELAY_STORE: `file:${join(work, 'relay-data')}`,
      PORT: String(port),
      LOG_LEVEL: 'warn',
    });
    const relayUrl = `http://127.0.0.1:${port}`;
    await waitForHealth(relayUrl, relay, 15_000);
    detail(`relay at ${relayUrl}, objects in ${join(work, 'relay-data')}`);

    say(`POST ${relayUrl}/v1/pulls  {"image": "${image.ref}", "platform": "${PLATFORM}"}`);
    const created = await fetchJson<PullRecord>(`${relayUrl}/v1/pulls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: image.ref, platform: PLATFORM }) });
    detail(`pull ${created.id} is ${created.state}`);

    say(`Waiting: GET ${relayUrl}/v1/pulls/${created.id}`);
    const done = await waitForPull(relayUrl, created.id);
    if (done.state !== 'done') throw new Error(`pull ended ${done.state}: ${done.error?.code} ${done.error?.message}`);
    detail(`manifest for ${PLATFORM}: ${done.manifestDigest}`);
    const layer = done.layers[0];
    if (!layer?.url) throw new Error('the finished pull lists no layer URL');
    const expected = image.platforms.find((p) => p.platform.startsWith(PLATFORM));
    detail(`layer ${layer.digest} (${layer.size} bytes, ${layer.mediaType})`);
    detail(`the stand-in index lists this layer for ${expected?.platform}: ${expected?.layers[0]?.digest === layer.digest ? 'yes' : 'NO'}`);
    detail(`registry served this blob ${standIn.blobGets(layer.digest)} time(s)`);

    say('Downloading the layer through its signed URL (from the relay, not from Harbor), hashing as it arrives');
    detail(`${layer.url.split('?')[0]}?expires=…&sig=… (valid until ${layer.expiresAt})`);
    const file = join(work, 'layer.blob');
    const sha256 = await download(layer.url, file);
    const ok = `sha256:${sha256}` === layer.digest;
    detail(`sha256 of the bytes: sha256:${sha256}`);
    detail(ok ? 'matches the digest ✓' : 'DOES NOT MATCH the digest ✗');
    if (!ok) throw new Error('digest mismatch');

    say('Extracting the verified layer');
    const out = join(work, 'out');
    const report = await extractLayer(createReadStream(file), layer.mediaType, out);
    for (const entry of report.files) detail(`${entry.path}  ${entry.size} bytes  mode ${entry.mode.toString(8)}`);

    say('Checking which CPU bin/busybox was built for (ELF header e_machine)');
    const machine = elfMachine(join(out, 'bin/busybox'));
    detail(`bin/busybox: ELF for ${ELF_MACHINES[machine] ?? `machine 0x${machine.toString(16)}`}`);
    if (machine !== 0xb7) throw new Error('expected an arm64 binary');
    console.log(`\nDone: ${image.ref} for ${PLATFORM} was relayed, verified and extracted; the binary is arm64.`);
  } finally {
    await stopEverything();
  }
}

/** Stops the relay and the stand-in and removes the temporary files; once, however many callers ask. */
function stopEverything(): Promise<void> {
  stopping ??= (async () => {
    announce('Stopping what the demo started');
    if (started.relay) await stopChild(started.relay);
    // A stand-in still starting is waited for, so that its directory and registry go too.
    const standIn = await started.standIn?.catch(() => undefined);
    await standIn?.stop();
    if (started.work) rmSync(started.work, { recursive: true, force: true });
    detail('relay stopped, stand-in stopped, temporary files removed');
  })();
  return stopping;
}

/**
 * `layer-relay serve` with the Node flags of `npm start`, made to die with the demo: an exit hook
 * covers a normal or signalled exit, `setpriv --pdeathsig KILL` (util-linux, as for the registry in
 * infra/local/registry-process.ts) also a SIGKILLed demo.
 */
function spawnRelay(cwd: string, env: Record<string, string>): ChildProcess {
  // Checked in the same tick as the spawn: a signal's cleanup that already ran cannot miss this child.
  if (stopping) throw new Error('interrupted');
  const node = [process.execPath, ...serveNodeFlags(root), join(root, 'cli/main.ts'), 'serve'];
  const command = hasSetpriv() ? ['setpriv', '--pdeathsig', 'KILL', ...node] : node;
  const child = spawn(command[0]!, command.slice(1), { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  started.relay = child;
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  return child;
}

function hasSetpriv(): boolean {
  return spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;
}



async function fetchJson<T>(url: string, init?: RequestInit): Promise<T> {
  const response = await fetch(url, init);
  const body = (await response.json()) as T & { error?: { code: string; message: string } };
  if (!response.ok) throw new Error(`${url}: ${response.status} ${body.error?.code}: ${body.error?.message}`);
  return body;
}

async function waitForPull(relayUrl: string, id: string): Promise<PullRecord> {
  let last = '';
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const record = await fetchJson<PullRecord>(`${relayUrl}/v1/pulls/${id}`);
    const line = `${record.state}${record.bytesTotal ? ` ${record.bytesDone ?? 0}/${record.bytesTotal} bytes` : ''}`;
    if (line !== last) detail(`state: ${line}`);
    last = line;
    if (record.state === 'done' || record.state === 'failed') return record;
    await sleep(100);
  }
  throw new Error('the pull did not finish within 60 s');
}

async function download(url: string, file: string): Promise<string> {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`download answered ${response.status}`);
  const hash = createHash('sha256');
  const tee = new Transform({ transform: (chunk: Buffer, _e, cb) => (hash.update(chunk), cb(null, chunk)) });
  await pipeline(Readable.fromWeb(response.body as ReadableStream), tee, createWriteStream(file));
  return hash.digest('hex');
}

function elfMachine(path: string): number {
  const fd = openSync(path, 'r');
  const header = Buffer.alloc(20);
  readSync(fd, header, 0, 20, 0);
  closeSync(fd);
  if (header.subarray(0, 4).toString('latin1') !== '\x7fELF') throw new Error(`${path} is not an ELF binary`);
  return header.readUInt16LE(18);
}



// Ctrl-C or SIGTERM runs the same cleanup as a normal end, then exits 130/143 as a shell expects;
// a second signal exits at once (the exit hooks still kill the relay and the registry).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(128 + constants.signals[signal]);
    interrupted = signal;
    console.log(`\n${signal}: stopping (send it again to quit at once)`);
    // Exit only once the step in flight has unwound too (a skopeo push removes its OCI layout in a
    // finally), bounded so a stuck step cannot hold the exit.
    void stopEverything()
      .then(() => Promise.race([demo, sleep(STEP_UNWIND_MS)]))
      .finally(() => process.exit(128 + constants.signals[signal]));
  });
}

const demo = main();
try {
  await demo;
} catch (err) {
  // Interrupted, the steps fail because their servers are going away: not worth a message.
  if (!interrupted) console.error(`\ndemo failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
