/**
 * Structured JSON logs, one object a line. Keys that can hold secrets are scrubbed before a line
 * is written, whatever the caller passed: a log line is the easiest place for a password to leak.
 */

/** Log levels in order of severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Field names whose values are never written (matched case-insensitively, as substrings). */
const SECRET_KEYS = /password|passwd|secret|token|authorization|cookie|signature|^sig$|credential/i;

/** A logger: level methods plus child loggers carrying fixed fields (pull id, image). */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default so stdout stays for a command's output. */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

/** A JSON-lines logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const base = options.fields ?? {};
  const emit = (level: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] < threshold) return;
    const entry = { time: new Date().toISOString(), level, message, ...base, ...fields };
    write(JSON.stringify(scrub(entry, 0)));
  };
  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, library use). */
export const silentLogger: Logger = createLogger({ write: () => {} });

/** Errors as loggable objects: code, message and the cause chain; never the raw request. */
export function errorFields(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { error: String(err) };
  const out: Record<string, unknown> = { error: err.message, errorName: err.name };
  const code = (err as { code?: unknown }).code;
  if (code !== undefined) out.errorCode = code;
  if (err.cause !== undefined) out.cause = errorFields(err.cause);
  return out;
}

function scrub(value: unknown, depth: number): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) ? '[REDACTED]' : scrub(inner, depth + 1);
  }
  return out;
}
