// Job status codes and error strategies, with xqute's names and values.

/** A job's status, with the codes xqute uses (and writes to `job.status`). */
export const JobStatus = {
  INIT: 0,
  QUEUED: 2,
  SUBMITTED: 3,
  RUNNING: 4,
  KILLING: 5,
  FINISHED: 6,
  FAILED: 7,
} as const;

/** One of the {@linkcode JobStatus} codes. */
export type JobStatusCode = typeof JobStatus[keyof typeof JobStatus];

/** The name of a {@linkcode JobStatus} code, such as `"FINISHED"`. */
export type JobStatusName = keyof typeof JobStatus;

/**
 * The name of a status code.
 *
 * @param code A {@linkcode JobStatus} value.
 * @returns Its name, or `"UNKNOWN"` for a code that is not one.
 * @example
 * ```ts
 * import { JobStatus, jobStatusName } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 * assertEquals(jobStatusName(JobStatus.FAILED), "FAILED");
 * ```
 */
export function jobStatusName(code: number): JobStatusName | "UNKNOWN" {
  for (const [name, value] of Object.entries(JobStatus)) {
    if (value === code) return name as JobStatusName;
  }
  return "UNKNOWN";
}

/**
 * A job's status as people and programs read it (the summary, `xqc status`, the Kv
 * record): a {@linkcode JobStatus} name, or KILLED, SKIPPED (finished in an earlier run)
 * or CANCELLED (never started because the run stopped).
 */
export type JobOutcome = JobStatusName | "KILLED" | "SKIPPED" | "CANCELLED";

/**
 * The status name of a job.
 *
 * @param job Its status code and flags.
 * @param ended Whether its run has ended (a job never started is then CANCELLED).
 * @returns The name.
 * @example
 * ```ts
 * import { JobStatus, jobOutcome } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 * assertEquals(jobOutcome({ status: JobStatus.FAILED, killed: true, skipped: false }), "KILLED");
 * assertEquals(jobOutcome({ status: JobStatus.QUEUED, killed: false, skipped: false }, false), "QUEUED");
 * ```
 */
export function jobOutcome(
  job: { status: number; killed: boolean; skipped: boolean },
  ended = true,
): JobOutcome {
  if (job.skipped) return "SKIPPED";
  if (job.killed && job.status === JobStatus.FAILED) return "KILLED";
  if (ended && (job.status === JobStatus.INIT || job.status === JobStatus.QUEUED)) {
    return "CANCELLED";
  }
  const name = jobStatusName(job.status);
  return name === "UNKNOWN" ? "FAILED" : name;
}

/** What a run does when a job fails, as xqute's `JobErrorStrategy`. */
export const JobErrorStrategy = {
  /** Record the failure and go on with the other jobs. */
  IGNORE: "ignore",
  /** Run the job again, up to `numRetries` more times. */
  RETRY: "retry",
  /** Kill what runs and end the run. */
  HALT: "halt",
} as const;

/** One of the {@linkcode JobErrorStrategy} values. */
export type JobErrorStrategyName = typeof JobErrorStrategy[keyof typeof JobErrorStrategy];

/** rc of a job that the engine refused to start. */
export const RC_REFUSED: number = -2;
/** rc of a job whose process ended without writing its rc. */
export const RC_VANISHED: number = -3;
