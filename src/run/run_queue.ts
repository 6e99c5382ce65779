// The jobs a run has fed and not started: taken by the dispatch in order, and bounded while
// the run runs, so that feeding a batch of any size holds a bounded number of jobs.

import type { Job } from "../core/job.ts";

/** How many jobs a running run queues ahead of its dispatch before `feed` waits for room. */
export const QUEUE_AHEAD = 1000;

/** The queue of fed jobs, with waits for a job (the dispatch) and for room (a feed). */
export class RunQueue {
  #jobs: Job[] = [];
  #takers: (() => void)[] = [];
  #feeders: (() => void)[] = [];
  #entering = 0;
  #closed = false;
  #stopped = false;
  #turn: Promise<unknown> = Promise.resolve();

  /** How many jobs wait. */
  get length(): number {
    return this.#jobs.length;
  }

  /** Whether it takes no more jobs. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Wait for room, then count a job in until `entered` (while `bounded`: the run runs).
   *
   * @param bounded Whether to wait for room.
   * @returns `false` when the queue closed meanwhile.
   */
  async enter(bounded: boolean): Promise<boolean> {
    while (bounded && !this.#closed && this.#jobs.length + this.#entering >= QUEUE_AHEAD) {
      await new Promise<void>((resolve) => this.#feeders.push(resolve));
    }
    if (this.#closed) return false;
    this.#entering++;
    return true;
  }

  /**
   * Make the jobs counted in one at a time, in the order they came: a job's index is how many
   * were made before it, which two made at once would both take.
   *
   * @param make What makes and queues a job.
   * @returns What it returns.
   */
  inTurn<T>(make: () => Promise<T>): Promise<T> {
    const made = this.#turn.then(make);
    this.#turn = made.catch(() => {});
    return made;
  }

  /** A job counted in by `enter` was queued or not (skipped, refused): the next may come. */
  entered(): void {
    if (--this.#entering + this.#jobs.length < QUEUE_AHEAD) this.#feeders.shift()?.();
  }

  /**
   * Queue a job.
   *
   * @param job The job.
   */
  push(job: Job): void {
    this.#jobs.push(job);
    this.#takers.shift()?.();
  }

  /**
   * The next job, when one comes; `undefined` once closed and empty, or stopped.
   *
   * @returns The job.
   */
  async take(): Promise<Job | undefined> {
    for (;;) {
      if (this.#stopped) return undefined;
      const job = this.#jobs.shift();
      if (job) {
        this.#feeders.shift()?.();
        return job;
      }
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#takers.push(resolve));
    }
  }

  /**
   * Take no more jobs; with `stop`, hand out none of those queued either.
   *
   * @param stop Whether the run stops.
   */
  close(stop = false): void {
    this.#closed = true;
    if (stop) this.#stopped = true;
    for (const wake of this.#takers.splice(0)) wake();
    for (const wake of this.#feeders.splice(0)) wake();
  }
}
