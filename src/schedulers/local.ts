// The local scheduler: the wrapper runs with bash on this host, in its own process group.

import type { Job } from "../core/job.ts";
import { isTaggedProcess, signalGroup } from "../core/process.ts";
import type { SchedulerOptions } from "./options.ts";
import { SpawningScheduler } from "./spawning.ts";

/** Options of {@linkcode LocalScheduler}: the base options. */
export type LocalSchedulerOptions = SchedulerOptions;

/**
 * Runs each job's wrapper with bash directly, in its own process group; killing a job
 * signals the whole group (SIGTERM, then SIGKILL after a grace period).
 *
 * @example
 * ```ts
 * import { LocalScheduler } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 * const scheduler = new LocalScheduler({ forks: 2, workdir: await Deno.makeTempDir() });
 * assertEquals(scheduler.engineCommand(scheduler.createJob(0, ["true"])), ["bash"]);
 * ```
 */
export class LocalScheduler extends SpawningScheduler {
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
   * SIGTERM to the job's process group.
   *
   * @param job The job.
   */
  terminate(job: Job): Promise<void> {
    signalGroup(Number(job.jid), "SIGTERM");
    return Promise.resolve();
  }

  /**
   * Whether the job's process lives, marked with this workdir.
   *
   * @param jid The job's pid.
   * @returns `true` while it runs.
   */
  protected jidIsRunning(jid: string): Promise<boolean> {
    return Promise.resolve(isTaggedProcess(Number(jid), this.workdir));
  }
}
