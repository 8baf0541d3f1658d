/**
 * Runs one call per key at a time; callers asking for a key already in flight share its result.
 * The worker uses it so one process copies a digest once however many pulls want it (design.md §5.5).
 */
export class SingleFlight<V> {
  readonly #inFlight = new Map<string, Promise<V>>();

  /** Calls `fn` unless a call for `key` is running, in which case its promise is returned. */
  run(key: string, fn: () => Promise<V>): Promise<V> {
    const running = this.#inFlight.get(key);
    if (running) return running;
    const started = fn().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, started);
    return started;
  }

  /** Keys being worked on now. */
  get size(): number {
    return this.#inFlight.size;
  }
}
