// The schedulers a run can name, and building one from a run's options.

import { ContainerScheduler } from "../schedulers/container/scheduler.ts";
import { LocalScheduler } from "../schedulers/local.ts";
import { SlurmScheduler } from "../schedulers/slurm/scheduler.ts";
import { SgeScheduler } from "../schedulers/sge/scheduler.ts";
import type { SchedulerOptions } from "../schedulers/options.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/** A scheduler class that {@linkcode Xqute} can build from options. */
export type SchedulerClass = new (options: Record<string, unknown>) => Scheduler;

/** The schedulers known by name. */
export const SCHEDULERS: Record<string, SchedulerClass> = {
  local: LocalScheduler as unknown as SchedulerClass,
  container: ContainerScheduler as unknown as SchedulerClass,
  slurm: SlurmScheduler as unknown as SchedulerClass,
  sge: SgeScheduler as unknown as SchedulerClass,
};

/**
 * The scheduler a run asks for: given, or built by name or class from the run's base
 * options and its `schedulerOpts` (which win). The scheduler rejects keys it does not know.
 *
 * @param chosen A scheduler, a class, or a name from {@linkcode SCHEDULERS}.
 * @param base The run's options that every scheduler takes (undefined ones are left out).
 * @param schedulerOpts The options for this scheduler.
 * @returns The scheduler.
 * @throws {TypeError} For an unknown name or option.
 */
export function createScheduler(
  chosen: string | Scheduler | SchedulerClass,
  base: SchedulerOptions,
  schedulerOpts: Record<string, unknown> = {},
): Scheduler {
  if (typeof chosen === "object") return chosen;
  const Class = typeof chosen === "string" ? SCHEDULERS[chosen] : chosen;
  if (!Class) {
    throw new TypeError(
      `Unknown scheduler "${chosen}" (expected ${Object.keys(SCHEDULERS).join(", ")})`,
    );
  }
  if (typeof schedulerOpts !== "object" || schedulerOpts === null) {
    throw new TypeError(`Option "schedulerOpts" must be an object`);
  }
  const defined = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
  return new Class({ ...defined, ...schedulerOpts });
}
