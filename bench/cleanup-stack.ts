/**
 * What a run started, undone in reverse order exactly once: at the end, on an error, or on Ctrl-C.
 * Each step's failure is reported and the rest still run, so one stuck piece cannot leave others behind.
 */
export class CleanupStack {
  readonly #steps: Array<{ label: string; undo: () => Promise<void> | void }> = [];
  #ran: Promise<void> | undefined;

  /** Registers `undo` to run at cleanup, before everything registered earlier. */
  add(label: string, undo: () => Promise<void> | void): void {
    this.#steps.push({ label, undo });
  }

  /** Runs every step once (later calls wait for the first). */
  run(report: (text: string) => void): Promise<void> {
    this.#ran ??= (async () => {
      for (const step of this.#steps.reverse()) {
        try {
          await step.undo();
        } catch (err) {
          report(`cleanup: ${step.label} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.#ran;
  }
}
