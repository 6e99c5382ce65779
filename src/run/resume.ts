// What makes a finished job the same job again, for `--resume`: a hash of all that decides
// its result.

import { sha256Hex } from "../core/digest.ts";
import { readJobFile } from "../core/job_files.ts";
import type { Job } from "../core/job.ts";
import type { JobRecord } from "../core/state.ts";
import { JobStatus } from "../core/status.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/**
 * The hash of a job's command, its envs and what its scheduler says decides its result
 * (the image's content, the entrypoint, the mounts, the prescript and postscript, …).
 *
 * @param job The job.
 * @param scheduler Its scheduler.
 * @returns 64 hex digits.
 */
export function jobHash(job: Job, scheduler: Scheduler): Promise<string> {
  return sha256Hex(JSON.stringify({
    cmd: job.cmd,
    envs: Object.entries({ ...scheduler.envs, ...job.envs }).sort(),
    ...scheduler.jobIdentity(job),
  }));
}

/**
 * Whether a job finished in an earlier run of the workdir: its record says so, or the run
 * crashed while the job ran and the job's wrapper wrote FINISHED and rc 0 (a cluster job
 * goes on without xqc).
 *
 * @param record The job's record from the earlier run.
 * @param job The job (its metadir is read).
 * @returns `true` when it finished.
 */
export function finishedBefore(record: JobRecord, job: Job): boolean {
  if (record.status === "FINISHED" || record.status === "SKIPPED") return true;
  if (record.status !== "RUNNING" && record.status !== "SUBMITTED") return false;
  try {
    return readJobFile(job.statusFile, 64)?.trim() === String(JobStatus.FINISHED) &&
      readJobFile(job.rcFile, 64)?.trim() === "0";
  } catch {
    return false;
  }
}
