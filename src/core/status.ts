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
