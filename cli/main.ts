import { parseArgs } from 'node:util';
import { isRelayError, toRelayError } from '../shared/errors.ts';
import { EXIT, type CliIo } from './cli-io.ts';
import { getCommand } from './get/get-command.ts';

export { EXIT, type CliIo } from './cli-io.ts';

const USAGE = `layer-relay — relay Harbor image layers into verified object storage

Usage:
  layer-relay get IMAGE        fetch an image's files onto this host, verified (layer-relay get --help)
  layer-relay serve            run api, status, signed URLs and the worker as one local process
  layer-relay help             this text

serve reads its configuration from the environment (see README):
  HARBOR_URL=https://harbor.example.com  HARBOR_USERNAME='robot$team+relay'  HARBOR_PASSWORD=...
  RELAY_STORE=file:./.relay-data  PORT=8080

Examples:
  HARBOR_URL=https://harbor.example.com layer-relay serve
  curl -s -XPOST localhost:8080/v1/pulls -H 'content-type: application/json' \\
    -d '{"image":"harbor.example.com/team/app:1.4.2","platform":"linux/arm64"}'
  LAYER_RELAY_URL=http://127.0.0.1:8080 layer-relay get harbor.example.com/team/app:1.4.2 --output /opt/app
  HARBOR_URL=https://harbor.example.com layer-relay get harbor.example.com/team/app:1.4.2 --direct
`;

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'get':
        return await getCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout(USAGE);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        io.stderr(`layer-relay: unknown command "${command}" (try: layer-relay help)\n`);
        return EXIT.usage;
    }
  } catch (thrown) {
    const err = toRelayError(thrown);
    if (err.code === 'INVALID_REQUEST') {
      io.stderr(`layer-relay: ${err.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`layer-relay: ${err.code}: ${isRelayError(thrown) ? err.message : String((thrown as Error).message ?? thrown)}\n`);
    return EXIT.failure;
  }
}

async function serveCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
  if (values.help) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  // serve's modules (config schema, SQLite, Hono, the registry client) load only for serve: `get` starts faster.
  const [{ loadConfig }, { createLogger }, { startLocalRelay }] = await Promise.all([import('../shared/config.ts'), import('../shared/log.ts'), import('./serve/local-relay.ts')]);
  const config = loadConfig(io.env, io.cwd);
  const log = createLogger({ level: config.logLevel, write: (line) => io.stderr(`${line}\n`) });
  const relay = await startLocalRelay(config, { log });
  io.stdout(`layer-relay serving on ${relay.url} (registry ${config.harbor.registry}, store ${config.store.kind === 'file' ? config.store.dir : 's3'})\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await relay.stop();
  return EXIT.ok;
}

/** Signals after which the process ends at once: the first two only ask the command to stop and clean up. */
const SIGNALS_BEFORE_HARD_EXIT = 3;

/**
 * Entry point for the real process: SIGINT/SIGTERM abort the running command (`get` removes its temp
 * tree, `serve` stops); the exit code becomes the process's. The handlers live only while run() does:
 * afterwards the default action (terminate) is back, so nothing can linger ignoring SIGTERM (h2 B9).
 */
export async function main(): Promise<void> {
  const controller = new AbortController();
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received += 1;
    // An impatient second Ctrl-C must not skip the cleanup the first one started (h2 N6); a third one is final.
    if (received >= SIGNALS_BEFORE_HARD_EXIT) process.exit(signal === 'SIGTERM' ? EXIT.SIGTERM : EXIT.SIGINT);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    process.exitCode = await run(process.argv.slice(2), {
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      env: process.env,
      cwd: process.cwd(),
      signal: controller.signal,
      isTTY: process.stderr.isTTY === true,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (import.meta.main) await main();
