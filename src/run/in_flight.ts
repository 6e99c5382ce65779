// The jobs a run has in flight, counted, with one waiter for a free place: waiting costs
// the same whatever the number of jobs that run (a race over all of them would add a
// handler to each at every wait, kept until that job ends).

/** Tasks in flight: how many, a wait for one to end, and a wait for all. */
export class InFlight {
  #count = 0;
  #wake: (() => void) | null = null;
  #error: unknown = undefined;
  #failed = false;

  /** How many are in flight. */
  get size(): number {
    return this.#count;
  }

  /** How many are waiting to be told a task ended: 0 or 1. */
  get waiters(): number {
    return this.#wake ? 1 : 0;
  }

  /**
   * Count a task in until it settles; the first rejection is kept for {@linkcode settled}.
   *
   * @param task The task.
   */
  add(task: Promise<void>): void {
    this.#count++;
    task.then(
      () => this.#ended(),
      (e) => {
        if (!this.#failed) [this.#failed, this.#error] = [true, e];
        this.#ended();
      },
    );
  }

  /**
   * Wait until fewer than `limit` are in flight.
   *
   * @param limit The most in flight.
   */
  async below(limit: number): Promise<void> {
    while (this.#count >= limit) await new Promise<void>((resolve) => this.#wake = resolve);
    this.#throwIfFailed();
  }

  /** Wait until none is in flight; throws the first rejection. */
  async settled(): Promise<void> {
    await this.below(1);
  }

  #ended(): void {
    this.#count--;
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }
}
