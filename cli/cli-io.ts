/** What a command may touch: injected so the CLI runs in-process in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Ends a long-running command (serve, get); the real binary wires SIGINT/SIGTERM to it, with the signal's name as the abort reason. */
  signal: AbortSignal;
  /** stderr is a terminal: `get` draws a progress bar instead of plain lines. */
  isTTY?: boolean;
}

/** Exit codes: 0 ok, 1 the operation failed, 2 the command line was wrong; 128 + signal number when interrupted (shell convention). */
export const EXIT = { ok: 0, failure: 1, usage: 2, SIGINT: 130, SIGTERM: 143 } as const;
