import { readFileSync, writeFileSync } from 'node:fs';

/** Sampling period of VmRSS: a 1 GiB copy takes seconds, so 20 ms sees any plateau. */
const SAMPLE_MS = 20;

/** Peak memory of a process over a window. */
export interface RssPeak {
  /** VmHWM after it was reset at the window's start: the kernel's own peak, exact. */
  hwmBytes: number | undefined;
  /** The largest VmRSS seen by sampling (a floor of the true peak; used when the reset is refused). */
  sampledBytes: number;
  /** RSS when the window opened (the idle server). */
  startBytes: number;
  /** The figure to report: the kernel's peak when available, else the sampled one. */
  peakBytes: number;
}

/** A window over which a process's peak RSS is being measured. */
export interface RssMonitor {
  stop(): RssPeak;
}

/**
 * Starts measuring `pid`'s peak RSS from now on: resets its high-water mark (`echo 5 >
 * /proc/PID/clear_refs`, Linux ≥ 4.0, "reset the peak resident set size") so VmHWM covers only this
 * window, and samples VmRSS meanwhile as a cross-check.
 */
export function startRssMonitor(pid: number): RssMonitor {
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    reset = false; // not our process's owner, or an old kernel: sampling only
  }
  const startBytes = readStatusBytes(pid, 'VmRSS') ?? 0;
  let sampled = startBytes;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, readStatusBytes(pid, 'VmRSS') ?? 0);
  }, SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      sampled = Math.max(sampled, readStatusBytes(pid, 'VmRSS') ?? 0);
      const hwmBytes = reset ? readStatusBytes(pid, 'VmHWM') : undefined;
      return { hwmBytes, sampledBytes: sampled, startBytes, peakBytes: Math.max(hwmBytes ?? 0, sampled) };
    },
  };
}

/** A `kB` line of /proc/PID/status in bytes, or undefined when the process is gone. */
export function readStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}
