// How many jobs of a run are in each state, and which run or failed, kept as jobs change,
// so that the run's record says it and `xqc status` need not read every job's.

import { grown } from "../core/grow.ts";
import type { JobOutcome } from "../core/status.ts";

/** How many job indexes of each list a run's record carries at most. */
export const TALLY_LISTED = 200;

const OUTCOMES: JobOutcome[] = [
  "INIT",
  "QUEUED",
  "SUBMITTED",
  "RUNNING",
  "KILLING",
  "FINISHED",
  "FAILED",
  "KILLED",
  "SKIPPED",
  "CANCELLED",
];
const CODE = new Map(OUTCOMES.map((outcome, code) => [outcome, code + 1]));

/** What a run's record says of its jobs. */
export interface RunCounts {
  /** How many jobs are in each state, by name. */
  counts: Partial<Record<JobOutcome, number>>;
  /** The indexes of running jobs (submitted, running, being killed), the first to start. */
  running: number[];
  /** The indexes of the first jobs to fail or be killed. */
  failed: number[];
}

/** The counts of a run's jobs, one byte a job. */
export class RunTally {
  #codes = new Uint8Array(1024);
  #counts = new Array<number>(OUTCOMES.length + 1).fill(0);
  #running = new Set<number>();
  #failed = new Set<number>();

  /**
   * Record a job's state.
   *
   * @param index The job.
   * @param outcome Its state now.
   */
  record(index: number, outcome: JobOutcome): void {
    this.#codes = grown(this.#codes, index + 1);
    const code = CODE.get(outcome)!;
    const before = this.#codes[index];
    if (before === code) return;
    if (before) this.#counts[before]--;
    this.#counts[code]++;
    this.#codes[index] = code;
    const running = outcome === "SUBMITTED" || outcome === "RUNNING" || outcome === "KILLING";
    if (running) this.#running.add(index);
    else this.#running.delete(index);
    if (outcome === "FAILED" || outcome === "KILLED") this.#failed.add(index);
    else this.#failed.delete(index);
  }

  /**
   * What the run's record says now.
   *
   * @returns The counts, and the first {@linkcode TALLY_LISTED} running and failed jobs.
   */
  snapshot(): RunCounts {
    const counts: Partial<Record<JobOutcome, number>> = {};
    for (const [i, outcome] of OUTCOMES.entries()) {
      if (this.#counts[i + 1]) counts[outcome] = this.#counts[i + 1];
    }
    return { counts, running: first(this.#running), failed: first(this.#failed) };
  }
}

function first(indexes: Set<number>): number[] {
  const some: number[] = [];
  for (const index of indexes) {
    if (some.length >= TALLY_LISTED) break;
    some.push(index);
  }
  return some.sort((a, b) => a - b);
}
