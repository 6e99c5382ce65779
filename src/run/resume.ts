// What makes a finished job the same job again, for `--resume`: a hash of all that decides
// its result.

import { sha256Hex } from "../core/digest.ts";
import type { Job } from "../core/job.ts";
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
