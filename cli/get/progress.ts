import { formatBytes } from './byte-size.ts';

/** How `get` talks to a person while it works. */
export interface Progress {
  /** A line that stays (a pull state change, a layer done, a skipped entry). */
  line(text: string): void;
  /** Bytes of the whole job so far, under a label: a bar on a TTY, nothing in plain output. */
  bytes(label: string, done: number, total: number): void;
  /** Removes the bar, if one is drawn. */
  end(): void;
}

/** tty: one redrawn bar line; plain: lines only (logs, CI); silent: --quiet and --json. */
export type ProgressMode = 'tty' | 'plain' | 'silent';

/** A TTY redraws at most this often: smooth to the eye, cheap on a slow terminal. */
const REDRAW_MS = 100;
/** The rate is measured over the last few seconds, so the ETA follows a link that slows down. */
const RATE_WINDOW_MS = 5_000;
const BAR_WIDTH = 24;

/**
 * Progress on stderr. Hand-written rather than cli-progress: it must write through the injected
 * `io.stderr` function (run(argv, io) is tested in-process, with no TTY stream object to give a
 * library), and bytes / rate / ETA formatting would be custom code on top of a library anyway.
 */
export function createProgress(mode: ProgressMode, write: (text: string) => void, now: () => number = Date.now): Progress {
  if (mode === 'silent') return { line: () => {}, bytes: () => {}, end: () => {} };
  if (mode === 'plain') return { line: (text) => write(`${text}\n`), bytes: () => {}, end: () => {} };

  let drawn = false;
  let lastDraw = 0;
  const samples: Array<{ at: number; done: number }> = [];
  const clear = () => {
    if (drawn) write('\r\x1b[K');
    drawn = false;
  };
  return {
    line(text) {
      clear();
      write(`${text}\n`);
    },
    bytes(label, done, total) {
      const at = now();
      samples.push({ at, done });
      while (samples.length > 2 && samples[0]!.at < at - RATE_WINDOW_MS) samples.shift();
      if (at - lastDraw < REDRAW_MS && done < total) return;
      lastDraw = at;
      const first = samples[0]!;
      const seconds = (at - first.at) / 1000;
      const rate = seconds > 0 ? (done - first.done) / seconds : 0;
      const fraction = total > 0 ? Math.min(1, done / total) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      const eta = rate > 0 && done < total ? ` ETA ${formatDuration((total - done) / rate)}` : '';
      const bar = `${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}`;
      write(`\r\x1b[K${label} [${bar}] ${formatBytes(done)} / ${formatBytes(total)}  ${formatBytes(Math.round(rate))}/s${eta}`);
      drawn = true;
    },
    end: clear,
  };
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const [h, m, sec] = parts as [number, number, number];
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}
