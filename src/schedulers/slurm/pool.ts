// Pool mode on Slurm: each pool slot is one allocation, made by `srun`, whose task is the
// agent (bash on the node, or a container running it); its jobs run there one after another.

import { dirname, join } from "@std/path/posix";
import { agentScript } from "../../core/agent.ts";
import { resetMemoryPeak } from "../../core/cgroups.ts";
import type { Job } from "../../core/job.ts";
import { WORKDIR_TAG } from "../../core/process.ts";
import type { Resources } from "../../core/resources.ts";
import type { ContainerLauncher } from "../container/launcher.ts";
import type { PoolSite } from "../pool/pooled_jobs.ts";
import { type SbatchValue, slurmFlags, slurmResources } from "./options.ts";
import type { BatchQueue } from "../batch/queue.ts";
import type { Trial } from "../trial.ts";

/** What a Slurm pool needs of its scheduler. */
export interface SlurmPoolHost {
  /** The sbatch program (srun is taken from beside it). */
  readonly sbatch: string;
  /** The sbatch options every job gets (srun takes them too). */
  readonly slurmOpts: Readonly<Record<string, SbatchValue>>;
  /** The queue, to cancel an allocation by name. */
  readonly queue: BatchQueue;
  /** The launcher, when jobs run in containers. */
  readonly launcher: ContainerLauncher | null;
  /** The run's image, when there is one. */
  readonly image: string | null;
  /** The run's id. */
  readonly runId: string;
  /** The workdir. */
  readonly workdir: string;
  /** The first part of every Slurm job name of the workdir. */
  readonly jobNameStem: string;
  /** The wrappers' file name. */
  readonly wrapperName: string;
  /** Jobs at once. */
  readonly forks: number;
  /** Variables of every job. */
  readonly envs: Readonly<Record<string, string>>;
  /** Whether the run is stopping. */
  readonly cancelled: boolean;
  /** A job's current trial's limits. */
  trialResources(job: Job): Resources;
  /** Write the job's wrapper. */
  wrappedJobScript(job: Job): Promise<string>;
}

/** The scheduler's protected parts a pool needs. */
export interface SlurmPoolHooks {
  /** Register a started trial. */
  track(job: Job, trial: Trial): void;
  /** A job's live trial. */
  trialOf(job: Job): Trial | undefined;
}

/**
 * The pool site of a Slurm scheduler: `srun --job-name=<stem>pool<n> --ntasks=1 <options>
 * <limits>` running the agent, or the engine command that runs it in a container.
 *
 * @param host The scheduler.
 * @param hooks Its protected parts.
 * @returns The site.
 */
export function slurmPoolSite(host: SlurmPoolHost, hooks: SlurmPoolHooks): PoolSite {
  const launcher = host.launcher;
  const srun = host.sbatch.includes("/") ? join(dirname(host.sbatch), "srun") : "srun";
  // The container of a slot, when there is one: its allocation's name and the run's id.
  const containerName = (name: string) => `${name}-${host.runId}`;
  return {
    forks: () => host.forks,
    cancelled: () => host.cancelled,
    trialResources: (job) => host.trialResources(job),
    imageOf: (job) =>
      launcher && host.image ? launcher.engine.imageRef(job.image ?? host.image) : null,
    jobEnvs: (job) => {
      const envs = { ...host.envs, ...job.envs };
      return launcher ? launcher.jobEnvs(envs) : envs;
    },
    poolName: (n) => `${host.jobNameStem}pool${n}`,
    poolKind: "Slurm allocation",
    agentArgv: (image, resources, name) => {
      const flags = slurmFlags({ ...host.slurmOpts, ...slurmResources(resources) }).flat();
      const head = [srun, "--quiet", `--job-name=${name}`, "--ntasks=1", ...flags];
      if (!launcher || image === null) {
        return [...head, "bash", "-c", agentScript(), "xqc-pool-agent", host.wrapperName];
      }
      // A container that is not a process of its allocation (docker, podman) takes the
      // limits from its engine; apptainer's are the allocation's.
      const contained = !launcher.engine.daemonContainers;
      return [
        ...head,
        ...launcher.agentArgv(
          image,
          contained ? {} : resources,
          containerName(name),
          host.runId,
          host.wrapperName,
        ),
      ];
    },
    // A FIFO is a pipe of one machine: an allocation's agent may run on another node, so it
    // talks through srun's stdin and stdout.
    channel: () => null,
    agentEnv: () => ({
      ...(launcher ? launcher.engine.clientEnv({}) : {}),
      [WORKDIR_TAG]: host.workdir,
    }),
    // srun starts the task, the engine's client, in the folder srun runs in.
    agentCwd: () => launcher?.engine.clientCwd(host.workdir) ?? null,
    nameOf: (name) => name,
    remove: async (container) => {
      await host.queue.cancelAndWait(await host.queue.liveByName(container.name));
      if (launcher) await launcher.engine.removeContainers([containerName(container.name)]);
    },
    // A slot runs one job at a time: its cgroup (the container's, or the allocation's when
    // Slurm tracks jobs with cgroups) counts the job, from its start, its peak reset first.
    measure: (_job, container, resources) => {
      const cgroup = container.memoryCgroup;
      const own = launcher && host.image && launcher.engine.ownsCgroup(resources)
        ? true
        : /\/job_\d+(\/|$)/.test(cgroup ?? "");
      if (!own || cgroup === null) return { kind: "none" };
      return { kind: "pooled", peak: resetMemoryPeak(cgroup) };
    },
    measured: () => {},
    // The allocation is the slot's cgroup when Slurm tracks jobs with cgroups.
    containerCgroup: () => null,
    freeCgroup: () => {},
    wrappedJobScript: (job) => host.wrappedJobScript(job),
    track: hooks.track,
    trialOf: hooks.trialOf,
  };
}
