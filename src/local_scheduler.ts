// The local scheduler: the wrapper runs with bash on this host, in its own process group.

import type { Job } from "./job.ts";
import { signalGroup } from "./process.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";

/** Options of {@linkcode LocalScheduler}: the base options. */
export type LocalSchedulerOptions = SchedulerOptions;

/** How long a killed job has to end on SIGTERM before its group gets SIGKILL. */
export const KILL_GRACE_MS = 3000;

/**
 * Runs each job's wrapper with bash directly, in its own process group; killing a job
 * signals the whole group (SIGTERM, then SIGKILL after a grace period).
 *
 * @example
 * ```ts
 * import { LocalScheduler } from "@xq/container";
 * const scheduler = new LocalScheduler({ forks: 2, workdir: await Deno.makeTempDir() });
 * console.log(scheduler.engineCommand(scheduler.createJob(0, ["true"]))); // ["bash"]
 * ```
 */
export class LocalScheduler extends Scheduler {
  /** `"local"`. */
  readonly name: string = "local";

  /** The wrapper sends its own stderr to its stdout: one pipe a job, not two. */
  override get clientStderr(): "piped" | "null" {
    return "null";
  }

  /** `exec 2>&1` (see {@linkcode clientStderr}), then the base set-up. */
  override get jobcmdWrapperInit(): string {
    return ["exec 2>&1", super.jobcmdWrapperInit].filter(Boolean).join("\n");
  }

  /**
   * Bash runs the wrapper.
   *
   * @param _job The job.
   * @returns `["bash"]`.
   */
  engineCommand(_job: Job): string[] {
    return ["bash"];
  }

  /**
   * Signal the job's process group: SIGTERM, then SIGKILL if it is still there after
   * {@linkcode KILL_GRACE_MS}.
   *
   * @param job The job.
   */
  async killJob(job: Job): Promise<void> {
    await killGroup(this, job);
  }
}

/**
 * Kill a job's process group: SIGTERM, then SIGKILL after the grace period.
 *
 * @param scheduler The scheduler that spawned the job.
 * @param job The job.
 */
export async function killGroup(scheduler: Scheduler, job: Job): Promise<void> {
  const pid = Number(job.jid);
  if (!Number.isInteger(pid) || pid <= 0) return;
  signalGroup(pid, "SIGTERM");
  if (!(await scheduler.waitGone(job, KILL_GRACE_MS))) signalGroup(pid, "SIGKILL");
}
