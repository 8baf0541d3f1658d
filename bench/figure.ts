/** One line of the bench's output and one entry of its JSON results. */
export interface Figure {
  /** Stable key, e.g. `copy.1GiB`, for comparing runs. */
  id: string;
  /** The item number (1–6). */
  item: number;
  /** The one line printed for it. */
  line: string;
  /** PASS/FAIL against the target; null where the issue sets none or it was not measured. */
  pass: boolean | null;
  target?: string;
  /** Every measured value behind the line (samples, counts, units in the key names). */
  data: Record<string, unknown>;
}

/** Formats bytes as the issue does (MiB, GiB). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${+(bytes / 1024 ** 3).toFixed(2)} GiB`;
  if (bytes >= 1024 ** 2) return `${+(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${+(bytes / 1024).toFixed(1)} KiB`;
}

/** Milliseconds as `812 ms` or `3.21 s`. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

/** `PASS`, `FAIL`, or `(no target)`. */
export function verdict(pass: boolean | null): string {
  return pass === null ? '(no target)' : pass ? 'PASS' : 'FAIL';
}
