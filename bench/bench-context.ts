import type { StandIn } from '../infra/local/harbor-standin.ts';
import type { BenchOptions } from './bench-options.ts';
import type { BenchImage } from './bench-image.ts';
import type { HarborLogin } from './harbor-token.ts';
import type { PayloadLayer } from './payload-layer.ts';
import type { Prerequisites } from './prerequisites.ts';
import type { RelayProcess } from './relay-process.ts';

/** A cached payload layer pushed to the stand-in as a single-layer image. */
export interface StagedPayload {
  layer: PayloadLayer;
  image: BenchImage;
  /** `host:port/team/bench-payload:TAG`, what a pull names. */
  ref: string;
  /** The same image pinned by manifest digest. */
  pinnedRef: string;
  /**
   * The same layer followed by a tiny second layer: a multi-layer image skips the worker's files
   * step (issue 6 lists files of single-layer artifacts only), so its copy time isolates the blob path.
   */
  twoLayerRef: string;
}

/** Everything a figure needs; built and torn down by main.ts. */
export interface BenchContext {
  /** The checkout (cwd of every relay and `layer-relay get`). */
  root: string;
  /** Scratch directory of this run: relay store and baseline outputs, one disk. */
  work: string;
  options: BenchOptions;
  prereq: Prerequisites;
  standIn: StandIn;
  /** Pushes with admin rights. */
  admin: HarborLogin;
  /** The relay's own account (pull on `team` only); baselines use it too. */
  robot: HarborLogin;
  /** The relay under test, started once for the whole run. */
  relay: RelayProcess;
  /** Its directory store. */
  storeDir: string;
  main: StagedPayload;
  big: StagedPayload | undefined;
  /** Starts another relay process, stopped with the run. */
  startExtraRelay(name: string, storeDir: string, env?: Record<string, string>): Promise<RelayProcess>;
  /** Aborted on Ctrl-C: long commands stop at once. */
  signal: AbortSignal;
  /** A progress note on stderr (stdout carries only the figure lines). */
  note(text: string): void;
}
