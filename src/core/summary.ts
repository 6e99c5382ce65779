// The run summary: what `runUntilComplete()` resolves to and `xqc run --json` prints.

import type { Job } from "./job.ts";
import type { Resources } from "./resources.ts";
import type { JobUsage } from "./usage.ts";
import { type JobOutcome, jobOutcome } from "./status.ts";

/** One job in the summary. */
export interface JobSummary {
  /** The job's index. */
  index: number;
  /** Its command, as one line. */
  cmd: string;
  /**
   * `FINISHED` or `FAILED`; `KILLED` when it was killed, `SKIPPED` when `--resume` found
   * it finished, `CANCELLED` when the run stopped before it started.
   */
  status: JobOutcome;
  /** The last trial's exit code (null if it never ran). */
  rc: number | null;
  /** How many trials ran. */
  trials: number;
  /** From its first submission to its end, in ms (null if it never ran). */
  durationMs: number | null;
  /** The path of its `job.stdout`. */
  stdout: string;
  /** The path of its `job.stderr`. */
  stderr: string;
  /** Each trial's CPUs, memory (bytes) and GPUs, when it asked for any. */
  limits: Resources[];
  /** What its last trial used: times, peak memory (bytes), CPU time (ms), and how measured. */
  usage: JobUsage | null;
}

/** The summary of a run. */
export interface RunSummary {
  /** The workdir, absolute. */
  workdir: string;
  /** How many jobs were fed. */
  total: number;
  /** How many finished with rc 0 (skipped ones not included). */
  succeeded: number;
  /** How many failed (after their retries). */
  failed: number;
  /** How many were killed, or never started because the run stopped. */
  killed: number;
  /** How many were skipped as already finished (`--resume`). */
  skipped: number;
  /** How long the run took, in ms. */
  durationMs: number;
  /** The signal that stopped the run, if one did. */
  signal: string | null;
  /** Whether the run halted on a failure (`errorStrategy: "halt"`). */
  halted: boolean;
  /** Every job (its entries are made when first read). */
  jobs: JobSummary[];
}

/** A run's jobs as its summary reads them. */
export interface SummarizedJobs extends Iterable<Job> {
  /** How many. */
  readonly length: number;
  /**
   * Each job's state, by index, without making a Job of each (the same object may come
   * again, changed).
   */
  states(): Iterable<{ status: number; killed: boolean; skipped: boolean }>;
}

/**
 * Summarize a run.
 *
 * @param workdir The workdir.
 * @param jobs The jobs, by index: their states are counted, and each job is read when the
 *   summary's entries are.
 * @param durationMs The run's duration.
 * @param signal The signal that stopped it, if any.
 * @param halted Whether it halted on a failure.
 * @returns The summary.
 */
export function summarize(
  workdir: string,
  jobs: SummarizedJobs,
  durationMs: number,
  signal: string | null,
  halted: boolean,
): RunSummary {
  const summary: RunSummary = {
    workdir,
    total: jobs.length,
    succeeded: 0,
    failed: 0,
    killed: 0,
    skipped: 0,
    durationMs,
    signal,
    halted,
    jobs: [],
  };
  for (const job of jobs.states()) {
    const status = jobOutcome(job);
    if (status === "SKIPPED") summary.skipped++;
    else if (status === "FINISHED") summary.succeeded++;
    else if (status === "KILLED" || status === "CANCELLED") summary.killed++;
    else summary.failed++;
  }
  // The jobs' entries are made when first read (`--json` reads them): a run of 100,000
  // jobs that only prints its counts does not hold 100,000 more objects at its end.
  let entries: JobSummary[] | null = null;
  Object.defineProperty(summary, "jobs", {
    enumerable: true,
    get: () => entries ??= Array.from(jobs, jobSummary),
  });
  return summary;
}

function jobSummary(job: Job): JobSummary {
  return {
    index: job.index,
    cmd: job.cmdText,
    status: jobOutcome(job),
    rc: job.rc,
    trials: job.trial,
    durationMs: job.submittedAt !== null && job.endedAt !== null
      ? job.endedAt - job.submittedAt
      : null,
    stdout: job.stdoutFile,
    stderr: job.stderrFile,
    limits: job.trialLimits.filter((limits) => Object.keys(limits).length),
    usage: job.usage,
  };
}
