// Stopping what a crashed run of a workdir left running, from outside that run (`xqc kill`).

import type { RunRecord } from "../core/state.ts";
import { ContainerScheduler } from "../schedulers/container.ts";
import { LocalScheduler } from "../schedulers/local.ts";
import { SlurmScheduler } from "../schedulers/slurm.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/**
 * The scheduler a run record names, made only to find and stop that run's leftovers.
 *
 * @param workdir The workdir.
 * @param run The run's record, if the workdir has one.
 * @returns A scheduler for the workdir.
 */
function schedulerOf(workdir: string, run: RunRecord | null): Scheduler {
  const jobnamePrefix = run?.jobnamePrefix ?? undefined;
  if (run?.scheduler.startsWith("slurm")) {
    const image = run.image && run.bin ? { image: run.image, bin: run.bin } : {};
    return new SlurmScheduler({ workdir, jobnamePrefix, ...image });
  }
  if (run?.image && run.bin && run.scheduler.startsWith("container")) {
    return new ContainerScheduler({ workdir, image: run.image, bin: run.bin });
  }
  return new LocalScheduler({ workdir });
}

/**
 * Stop what runs of a workdir left running: marked process groups, and the containers or
 * cluster jobs of the scheduler its last run used.
 *
 * @param workdir The workdir, absolute.
 * @param run Its last run's record, if any.
 * @returns What was stopped, for a message.
 */
export async function reapWorkdir(workdir: string, run: RunRecord | null): Promise<string[]> {
  let scheduler: Scheduler;
  try {
    scheduler = schedulerOf(workdir, run);
  } catch {
    // The engine is gone from this machine: its processes can still be found.
    scheduler = new LocalScheduler({ workdir });
  }
  return await scheduler.reapOrphans();
}
