// The Slurm scheduler: the batch scheduler on Slurm (./system.ts), with pools of
// allocations made by srun (./pool.ts).

import { BatchScheduler } from "../batch/scheduler.ts";
import {
  resolveSlurmOptions,
  type SbatchValue,
  SLURM_OPTION_KEYS,
  type SlurmSchedulerOptions,
  splitPrefixedOptions,
} from "./options.ts";
import { slurmPoolSite } from "./pool.ts";
import { SlurmSystem } from "./system.ts";

/**
 * Runs each job on a Slurm cluster: its batch script (`job.sbatch` in its metadir) runs the
 * wrapper with bash, or through a container engine when an image is given. The workdir must
 * be on a filesystem the nodes share.
 *
 * @example
 * ```ts ignore
 * import { Xqute } from "@xq/container";
 * const xq = new Xqute({
 *   scheduler: "slurm",
 *   forks: 100,
 *   workdir: "/shared/project/.xqute",
 *   schedulerOpts: { slurmOpts: { partition: "debug", mem: "1G" }, image: "tool.sif", bin: "apptainer" },
 * });
 * ```
 */
export class SlurmScheduler extends BatchScheduler {
  /** `"slurm"`. */
  readonly name: string = "slurm";
  /** The sbatch options every job gets. */
  readonly slurmOpts: Readonly<Record<string, SbatchValue>>;
  /** The sbatch program. */
  readonly sbatch: string;
  /** The squeue program. */
  readonly squeue: string;

  /**
   * Make a Slurm scheduler (the cluster is asked in `prepare()`, before the first job).
   *
   * @param options The options.
   */
  constructor(options: SlurmSchedulerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    const { rest, sbatch } = splitPrefixedOptions(options as Record<string, unknown>);
    const given = rest as SlurmSchedulerOptions;
    const slurm = resolveSlurmOptions({
      ...given,
      slurmOpts: { ...sbatch, ...(given.slurmOpts ?? {}) },
    });
    super(given, SLURM_OPTION_KEYS, new SlurmSystem(slurm));
    this.slurmOpts = slurm.slurmOpts;
    this.sbatch = slurm.sbatch;
    this.squeue = slurm.squeue;
    if (this.batchOptions.pool) {
      this.usePool(
        slurmPoolSite(this, { track: (j, t) => this.track(j, t), trialOf: (j) => this.trialOf(j) }),
      );
    }
  }
}
