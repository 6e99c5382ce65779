// The jobs of a run: the ones that have not ended as objects, the ended ones as rows of a
// table (core/ended_jobs.ts), so that what a run holds does not grow by a Job a job.

import type { Job } from "../core/job.ts";
import { EndedJobs } from "../core/ended_jobs.ts";
import { JobStatus } from "../core/status.ts";
import type { SummarizedJobs } from "../core/summary.ts";

/** The jobs fed to a run, by index. */
export class RunJobs implements SummarizedJobs {
  #count = 0;
  #live = new Map<number, Job>();
  #ended = new EndedJobs();

  /** How many were fed; the next one's index. */
  get length(): number {
    return this.#count;
  }

  /**
   * Add the next job.
   *
   * @param job The job, whose index is {@linkcode length}.
   */
  add(job: Job): void {
    this.#live.set(job.index, job);
    this.#count++;
  }

  /**
   * Keep a job as a row from now on, when it has finished or failed (through its retries).
   *
   * @param job The job.
   */
  retire(job: Job): void {
    if (job.status !== JobStatus.FINISHED && job.status !== JobStatus.FAILED) return;
    this.#ended.keep(job);
    this.#live.delete(job.index);
  }

  /**
   * The jobs that have not ended (waiting, running, or never started).
   *
   * @returns Them, in a new array.
   */
  live(): Job[] {
    return [...this.#live.values()];
  }

  /**
   * Every job's state, by index: an ended one's in one object, filled again for each.
   *
   * @yields Each job's status, and whether it was killed or skipped.
   */
  *states(): Generator<{ status: number; killed: boolean; skipped: boolean }> {
    const row = { status: 0, killed: false, skipped: false };
    for (let index = 0; index < this.#count; index++) {
      yield this.#live.get(index) ?? this.#ended.state(index, row)!;
    }
  }

  /**
   * Every job, by index: an ended one made anew from its row.
   *
   * @yields Each job.
   */
  *[Symbol.iterator](): Generator<Job> {
    for (let index = 0; index < this.#count; index++) {
      yield this.#live.get(index) ?? this.#ended.job(index)!;
    }
  }
}
