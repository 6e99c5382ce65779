// Stopping what a crashed run of a workdir left running, from outside that run (`xqc kill`).

import type { RunRecord } from "../core/state.ts";
import { ContainerScheduler } from "../schedulers/container/scheduler.ts";
import { LocalScheduler } from "../schedulers/local.ts";
import { SlurmScheduler } from "../schedulers/slurm/scheduler.ts";
import { SgeScheduler } from "../schedulers/sge/scheduler.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/** The batch systems a run record may name (by the start of its scheduler's name). */
const CLUSTERS = [
  { prefix: "slurm", Cluster: SlurmScheduler, label: "Slurm" },
  { prefix: "sge", Cluster: SgeScheduler, label: "Grid Engine" },
] as const;

/**
 * The batch system of a run, if it ran on one.
 *
 * @param run The run's record.
 * @returns Its scheduler class and its name in messages, or `null`.
 */
export function clusterOf(run: RunRecord | null): (typeof CLUSTERS)[number] | null {
  return CLUSTERS.find((c) => run?.scheduler.startsWith(c.prefix)) ?? null;
}

/**
 * The scheduler a run record names, made only to find and stop that run's leftovers.
 *
 * @param workdir The workdir.
 * @param run The run's record, if the workdir has one.
 * @param clusterOnly Leave out a cluster run's engine (its containers are on the nodes).
 * @returns A scheduler for the workdir.
 */
function schedulerOf(workdir: string, run: RunRecord | null, clusterOnly: boolean): Scheduler {
  const jobnamePrefix = run?.jobnamePrefix ?? undefined;
  const Cluster = clusterOf(run)?.Cluster;
  if (run && Cluster) {
    const image = run.image && run.bin && !clusterOnly ? { image: run.image, bin: run.bin } : {};
    try {
      return new Cluster({ workdir, jobnamePrefix, ...image });
    } catch {
      // The engine is not on this host: the jobs are cancelled by name all the same, and
      // their job scripts stop their containers on the nodes.
      return new Cluster({ workdir, jobnamePrefix });
    }
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
 * @param options `clusterOnly`: cancel a cluster run's jobs, touch nothing of this host.
 * @returns What was stopped, for a message.
 */
export async function reapWorkdir(
  workdir: string,
  run: RunRecord | null,
  options: { clusterOnly?: boolean } = {},
): Promise<string[]> {
  let scheduler: Scheduler;
  try {
    scheduler = schedulerOf(workdir, run, options.clusterOnly ?? false);
  } catch {
    // The engine is gone from this machine: its processes can still be found.
    scheduler = new LocalScheduler({ workdir });
  }
  return await scheduler.reapOrphans();
}
