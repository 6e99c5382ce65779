// The Grid Engine scheduler: the batch scheduler on Grid Engine (./system.ts).

import { BatchScheduler } from "../batch/scheduler.ts";
import type { BatchValue } from "../batch/system.ts";
import {
  resolveSgeOptions,
  SGE_OPTION_KEYS,
  type SgeSchedulerOptions,
  splitSgeOptions,
} from "./options.ts";
import { SgeSystem } from "./system.ts";

/**
 * Runs each job on a Grid Engine cell (SGE, Son of Grid Engine, Univa/Altair GE): its job
 * script (`job.qsub` in its metadir) runs the wrapper with bash, or through a container
 * engine when an image is given. The workdir must be on a filesystem the nodes share.
 *
 * @example
 * ```ts ignore
 * import { Xqute } from "@xq/container";
 * const xq = new Xqute({
 *   scheduler: "sge",
 *   forks: 100,
 *   workdir: "/shared/project/.xqute",
 *   schedulerOpts: { sgeOpts: { q: "all.q", l: ["h_rt=1:00:00"] }, pe: "smp" },
 * });
 * ```
 */
export class SgeScheduler extends BatchScheduler {
  /** `"sge"`. */
  readonly name: string = "sge";
  /** The qsub options every job gets. */
  readonly sgeOpts: Readonly<Record<string, BatchValue>>;

  /**
   * Make a Grid Engine scheduler (the cell is asked in `prepare()`, before the first job).
   *
   * @param options The options.
   * @throws {TypeError} For a bad option, and for `pool`: Grid Engine holds no slot open.
   */
  constructor(options: SgeSchedulerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    const { rest, qsub } = splitSgeOptions(options as Record<string, unknown>);
    const given = rest as SgeSchedulerOptions;
    if (given.pool) {
      throw new TypeError(
        `Option "pool" is not available on Grid Engine: a pool needs slots held open for ` +
          `its jobs (Slurm's allocations), which xqc does not make there; run without it`,
      );
    }
    const sge = resolveSgeOptions({ ...given, sgeOpts: { ...qsub, ...(given.sgeOpts ?? {}) } });
    super(given, SGE_OPTION_KEYS, new SgeSystem(sge));
    this.sgeOpts = sge.sgeOpts;
  }
}
