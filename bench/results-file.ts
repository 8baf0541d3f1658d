import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchOptions } from './bench-options.ts';
import type { Figure } from './figure.ts';

/** What the machine was like, so a preliminary number is read with its circumstances. */
export interface MachineState {
  cpus: number;
  cpuModel: string;
  totalMemBytes: number;
  freeMemBytes: number;
  /** 1, 5 and 15 minute load averages: above the CPU count, other work was competing. */
  loadAverage: number[];
  node: string;
  commit: string;
  /** Files changed in the checkout when it ran (others' work in progress counts). */
  uncommittedFiles: number;
}

/** The JSON written to bench/results/. */
export interface BenchResults {
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Omit<BenchOptions, 'cacheDir' | 'resultsDir' | 'workParent'>;
  machineAtStart: MachineState;
  machineAtEnd: MachineState;
  figures: Figure[];
  errors: string[];
}

/** Snapshot of the machine and checkout now. */
export function machineState(root: string): MachineState {
  const git = (args: string[]) => spawnSync('git', args, { cwd: root, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    totalMemBytes: totalmem(),
    freeMemBytes: freemem(),
    loadAverage: loadavg().map((value) => +value.toFixed(2)),
    node: process.version,
    commit: git(['rev-parse', '--short', 'HEAD']),
    uncommittedFiles: git(['status', '--porcelain']).split('\n').filter(Boolean).length,
  };
}

/** Writes `<resultsDir>/<timestamp>.json` and `latest.json`; returns the first path. */
export function writeResults(resultsDir: string, results: BenchResults): string {
  mkdirSync(resultsDir, { recursive: true });
  const text = `${JSON.stringify(results, null, 2)}\n`;
  const path = join(resultsDir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, text);
  writeFileSync(join(resultsDir, 'latest.json'), text);
  return path;
}
