// The options every batch scheduler takes (Slurm's and Grid Engine's), and their checks.

import { checkBoolean, checkInteger, checkNumber } from "../../core/options.ts";
import type { ContainerSchedulerOptions } from "../container/options.ts";
import type { BatchOptions } from "./system.ts";

/** Options of a batch scheduler: the base options, an optional container, and these. */
export interface BatchSchedulerOptions extends Omit<ContainerSchedulerOptions, "image"> {
  /** Run each job in a container of this image on its node (optional). */
  image?: string;
  /**
   * Submit jobs as arrays: `true` always, `false` never, `"auto"` (the default) when 50
   * jobs or more that share options are submitted at once.
   */
  array?: boolean | "auto";
  /** Seconds between two looks at the queue (one listing for all jobs; default 1). */
  pollInterval?: number;
  /**
   * Seconds to wait for a job's rc file to show after the system says the job ended, as a
   * shared filesystem may show it late (default 270, Nextflow's `exitReadTimeout`).
   */
  exitReadTimeout?: number;
}

/** The options a batch scheduler takes besides the base and container ones. */
export const BATCH_OPTION_KEYS: readonly string[] = ["array", "pollInterval", "exitReadTimeout"];

/** How many jobs at once make an array in `"auto"` mode. */
export const AUTO_ARRAY_MIN = 50;

/** The batch options, checked, with their defaults. */
export interface ResolvedBatchOptions {
  /** Array mode. */
  array: boolean | "auto";
  /** Seconds between looks at the queue. */
  pollInterval: number;
  /** Seconds to wait for a late rc file. */
  exitReadTimeout: number;
  /** Run jobs in a pool of allocations, one a fork slot. */
  pool: boolean;
  /** A fresh allocation every this many jobs (0: never). */
  poolRecycle: number;
}

/**
 * Check the batch options.
 *
 * @param options The options.
 * @returns The options, checked.
 * @throws {TypeError} For a value of the wrong kind.
 */
export function resolveBatchOptions(options: BatchSchedulerOptions): ResolvedBatchOptions {
  const array = options.array ?? "auto";
  if (array !== true && array !== false && array !== "auto") {
    throw new TypeError(
      `Option "array" must be true, false or "auto", not ${JSON.stringify(array)}`,
    );
  }
  const pollInterval = checkNumber("pollInterval", options.pollInterval ?? 1, 0.05);
  const pool = checkBoolean("pool", options.pool ?? false);
  const poolRecycle = checkInteger("poolRecycle", options.poolRecycle ?? 0, 0);
  if (poolRecycle > 0 && !pool) throw new TypeError(`Option "poolRecycle" needs "pool"`);
  if (pool && array === true) {
    throw new TypeError(`Options "pool" and "array" do not go together: a pool submits no arrays`);
  }
  return {
    array: pool ? false : array,
    pollInterval,
    exitReadTimeout: checkNumber("exitReadTimeout", options.exitReadTimeout ?? 270, 0),
    pool,
    poolRecycle,
  };
}

/**
 * A batch system's options, one item each, checked: a name `name` takes, and a value that is
 * a string or number (its text), `true` (a bare flag), `false` (left out) or a list of those
 * (the option once per item), without a line break.
 *
 * @param options The options.
 * @param system The system's name, for messages.
 * @param name What an option's name must match.
 * @returns `[key, text or true]` in the options' order.
 * @throws {TypeError} For a bad name or value.
 */
export function optionItems(
  options: BatchOptions,
  system: string,
  name: RegExp,
): [string, string | true][] {
  const items: [string, string | true][] = [];
  for (const [key, value] of Object.entries(options)) {
    if (!name.test(key)) throw new TypeError(`${system} option "${key}" is not an option name`);
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === false) continue;
      if (item === true) {
        items.push([key, true]);
        continue;
      }
      if (typeof item !== "string" && typeof item !== "number") {
        throw new TypeError(`${system} option "${key}" must be a string, number, true or a list`);
      }
      const text = String(item);
      if (/[\n\r]/.test(text)) throw new TypeError(`${system} option "${key}" holds a line break`);
      items.push([key, text]);
    }
  }
  return items;
}
