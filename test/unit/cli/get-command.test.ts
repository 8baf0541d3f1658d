import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../../cli/main.ts';

/** Runs the CLI in-process; HOME points at an empty directory, so no real credentials file is read. */
async function cli(argv: string[], env: Record<string, string> = {}) {
  const cwd = mkdtempSync(join(tmpdir(), 'cli-unit-'));
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), env: { HOME: join(cwd, 'home'), ...env }, cwd, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

const IMAGE = 'harbor.example.com/team/app:1.0';

describe('layer-relay get: command line', () => {
  it.each([
    ['no IMAGE', ['get', '--relay', 'http://127.0.0.1:1'], /get needs an IMAGE/],
    ['two IMAGEs', ['get', IMAGE, IMAGE, '--relay', 'http://127.0.0.1:1'], /takes one IMAGE, got 2/],
    ['an unknown option', ['get', IMAGE, '--relay', 'http://127.0.0.1:1', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['a malformed platform', ['get', IMAGE, '--relay', 'http://127.0.0.1:1', '--platform', 'linux'], /INVALID_PLATFORM: platform "linux" is not os\/arch/],
    ['a reference without registry host', ['get', 'team/app:1.0', '--relay', 'http://127.0.0.1:1'], /INVALID_IMAGE_REF: .*must start with the registry host/],
    ['--relay with --direct', ['get', IMAGE, '--relay', 'http://127.0.0.1:1', '--direct'], /--relay and --direct exclude each other/],
    ['neither a relay nor --direct', ['get', IMAGE], /no relay given: use --relay URL \(or LAYER_RELAY_URL\), or --direct/],
    ['a bad --max-bytes', ['get', IMAGE, '--direct', '--max-bytes', 'lots'], /--max-bytes: "lots" is not a size/],
    ['a bad --max-entries', ['get', IMAGE, '--direct', '--max-entries=0'], /--max-entries: "0" is not a positive whole number/],
    ['a bad --timeout', ['get', IMAGE, '--direct', '--timeout', 'soon'], /--timeout: "soon"/],
    ['a relay URL that is not http', ['get', IMAGE, '--relay', 'ftp://relay'], /relay URL must be http or https/],
    ['a relay URL that is not a URL (N3)', ['get', IMAGE, '--relay', 'notaurl'], /relay URL "notaurl" is not a URL/],
    ['a negative --timeout as a separate argument (N2)', ['get', IMAGE, '--direct', '--timeout', '-1'], /--timeout: "-1" is not a whole number of seconds/],
    ['a negative --max-entries (N2)', ['get', IMAGE, '--direct', '--max-entries', '-5'], /--max-entries: "-5" is not a positive whole number/],
    ['--timeout 0x10 (N4)', ['get', IMAGE, '--direct', '--timeout', '0x10'], /--timeout: "0x10" is not a whole number of seconds/],
    ['--timeout 1e3 (N4)', ['get', IMAGE, '--direct', '--timeout=1e3'], /--timeout: "1e3"/],
    ['--timeout 1.5 (N4)', ['get', IMAGE, '--direct', '--timeout=1.5'], /--timeout: "1.5"/],
    ['--max-entries 1e3 (N4)', ['get', IMAGE, '--direct', '--max-entries', '1e3'], /--max-entries: "1e3" is not a positive whole number/],
    ['--max-entries 0x10 (N4)', ['get', IMAGE, '--direct', '--max-entries', '0x10'], /--max-entries: "0x10"/],
  ])('%s exits 2 with one line and a pointer to --help', async (_, argv, message) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^layer-relay: /);
    expect(lines[0]).toMatch(message);
    expect(lines.slice(1)).toEqual(['  hint: see: layer-relay get --help']);
  });

  it.each([
    ['no IMAGE', ['get', '--json', '--relay', 'http://127.0.0.1:1'], 'INVALID_REQUEST'],
    ['a malformed platform', ['get', IMAGE, '--json', '--relay', 'http://127.0.0.1:1', '-p', 'linux'], 'INVALID_PLATFORM'],
    ['an unknown option', ['get', IMAGE, '--json', '--frobnicate'], 'INVALID_REQUEST'],
    ['--json with --quiet', ['get', IMAGE, '--direct', '--json', '--quiet'], 'INVALID_REQUEST'],
  ])('with --json, a usage error (%s) is one JSON object on stdout, exit 2 (N1)', async (_, argv, code) => {
    const result = await cli(argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual({ ok: false, error: { code, message: expect.any(String), hint: 'see: layer-relay get --help' } });
  });

  it('an empty LAYER_RELAY_URL counts as unset: the credentials file\'s URL is used (N5)', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-home-'));
    mkdirSync(join(home, '.config/layer-relay'), { recursive: true });
    writeFileSync(join(home, '.config/layer-relay/credentials'), 'LAYER_RELAY_URL=ftp://from-file.example.com\n', { mode: 0o600 });
    const result = await cli(['get', IMAGE, '-q'], { HOME: home, LAYER_RELAY_URL: '' });
    expect(result.stderr).toMatch(/relay URL must be http or https, not ftp:/); // the file's URL was taken
  });

  it('get --help prints usage with examples and exits 0', async () => {
    const result = await cli(['get', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('layer-relay get IMAGE');
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('--direct');
    expect(result.stdout).toMatch(/--max-bytes SIZE .*per layer/s); // N13: the limits are not whole-image totals
    expect(result.stdout).toContain('--force');
  });

  it('layer-relay --help lists get and serve with examples; no command is a usage error', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/layer-relay get IMAGE/);
    expect(help.stdout).toMatch(/layer-relay serve/);
    expect(help.stdout).toMatch(/Examples:[\s\S]*layer-relay get/);
    expect((await cli([])).code).toBe(2);
  });

  it('--direct without HARBOR_URL exits 1 saying what to set', async () => {
    const result = await cli(['get', IMAGE, '--direct', '-q']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^layer-relay: CONFIG_INVALID: HARBOR_URL is not set/);
  });

  it('--direct refuses an image on another registry than HARBOR_URL', async () => {
    const result = await cli(['get', 'other.example.com/team/app:1', '--direct', '-q'], { HARBOR_URL: 'https://harbor.example.com' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/REGISTRY_NOT_ALLOWED: the image names registry other.example.com, but HARBOR_URL is harbor.example.com/);
  });

  it('a credentials file readable by others, holding a password, is refused; chmod 600 makes it work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-creds-'));
    const file = join(dir, 'credentials');
    writeFileSync(file, "# for --direct\nHARBOR_URL=https://harbor.internal:8443\nHARBOR_USERNAME='robot$team+ci'\nHARBOR_PASSWORD=\"s3cret\"\n", { mode: 0o644 });
    chmodSync(file, 0o644);
    const refused = await cli(['get', IMAGE, '--direct', '-q'], { LAYER_RELAY_CREDENTIALS: file });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`holds a password and is readable by others; run: chmod 600 ${file}`);
    expect(refused.stderr).not.toContain('s3cret');
    chmodSync(file, 0o600);
    const used = await cli(['get', IMAGE, '--direct', '-q'], { LAYER_RELAY_CREDENTIALS: file });
    expect(used.stderr).toMatch(/REGISTRY_NOT_ALLOWED: .* but HARBOR_URL is harbor.internal:8443/); // HARBOR_URL came from the file
  });

  it('reads ~/.config/layer-relay/credentials by default, and the environment wins over it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cli-home-'));
    mkdirSync(join(home, '.config/layer-relay'), { recursive: true });
    writeFileSync(join(home, '.config/layer-relay/credentials'), 'HARBOR_URL=https://from-file.example.com\n', { mode: 0o600 });
    const fromFile = await cli(['get', IMAGE, '--direct', '-q'], { HOME: home });
    expect(fromFile.stderr).toContain('but HARBOR_URL is from-file.example.com');
    const fromEnv = await cli(['get', IMAGE, '--direct', '-q'], { HOME: home, HARBOR_URL: 'https://from-env.example.com' });
    expect(fromEnv.stderr).toContain('but HARBOR_URL is from-env.example.com');
  });

  it('refuses to replace the working directory or a parent of it', async () => {
    const result = await cli(['get', IMAGE, '--direct', '-o', '.', '-q'], { HARBOR_URL: 'http://127.0.0.1:9' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/OUTPUT_REFUSED: will not replace .*: it holds the working directory/);
  });
});
