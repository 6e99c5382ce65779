// Submission slots: how many jobs may be starting at once, and who waits for a slot.

/** A bounded set of holders; taking a slot waits while all are held. */
export class Slots<T> {
  #holders = new Set<T>();
  #waiters: (() => void)[] = [];
  #limit: () => number;

  /**
   * Slots.
   *
   * @param limit How many there are (asked each time, so it may change).
   */
  constructor(limit: () => number) {
    this.#limit = limit;
  }

  /**
   * Take a slot, waiting for one when all are held.
   *
   * @param holder Who takes it.
   */
  async take(holder: T): Promise<void> {
    while (this.#holders.size >= this.#limit()) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    this.#holders.add(holder);
  }

  /**
   * Give a slot back (nothing happens when the holder has none).
   *
   * @param holder Who gives it.
   */
  release(holder: T): void {
    if (this.#holders.delete(holder)) this.#waiters.shift()?.();
  }
}
