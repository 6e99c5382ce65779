// The Slurm scheduler's options, and how sbatch options become `#SBATCH` lines.

import { checkString } from "../../core/options.ts";
import type { Resources } from "../../core/resources.ts";
import type { BatchValue } from "../batch/system.ts";
import { type BatchSchedulerOptions, optionItems } from "../batch/options.ts";

/** A value of an sbatch option: a value, a bare flag (`true`), or a list (the flag repeated). */
export type SbatchValue = BatchValue;

/** Options of {@linkcode SlurmScheduler}: the base options, an optional container, and Slurm's. */
export interface SlurmSchedulerOptions extends BatchSchedulerOptions {
  /** sbatch options, each an `#SBATCH` line: `{ partition: "debug", mem: "1G" }`. */
  slurmOpts?: Record<string, SbatchValue>;
  /** The `sbatch` program (default `sbatch` on PATH). */
  sbatch?: string;
  /** The `squeue` program (default `squeue` on PATH). */
  squeue?: string;
  /** The `scancel` program (default `scancel` on PATH). */
  scancel?: string;
}

/** The options {@linkcode SlurmScheduler} takes besides the base, container and batch ones. */
export const SLURM_OPTION_KEYS: readonly string[] = ["slurmOpts", "sbatch", "squeue", "scancel"];

/**
 * xqute's way of giving sbatch options: keys `slurm_<name>` or `sbatch_<name>` among the
 * scheduler's options. They are taken out and merged into `slurmOpts`.
 *
 * @param options The scheduler's options.
 * @returns The options without those keys, and the sbatch options they gave.
 */
export function splitPrefixedOptions(
  options: Record<string, unknown>,
): { rest: Record<string, unknown>; sbatch: Record<string, SbatchValue> } {
  const rest: Record<string, unknown> = {};
  const sbatch: Record<string, SbatchValue> = {};
  for (const [key, value] of Object.entries(options)) {
    const match = /^(?:slurm|sbatch)_(.+)$/.exec(key);
    if (match) sbatch[match[1]] = value as SbatchValue;
    else rest[key] = value;
  }
  return { rest, sbatch };
}

/**
 * The `#SBATCH` lines of sbatch options, as xqute writes them: `key` → `--key=value` with
 * `_` → `-`, a one-letter key → `-k value`, `true` → a bare flag, `false` → nothing, a
 * list → the flag once per item.
 *
 * @param options The options.
 * @returns The lines, in the options' order.
 * @throws {TypeError} For a key that is not an option name or a value that is not one.
 * @example
 * ```ts
 * import { sbatchLines } from "./options.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(sbatchLines({ partition: "debug", cpus_per_task: 2, N: 1, exclusive: true }), [
 *   "#SBATCH --partition=debug",
 *   "#SBATCH --cpus-per-task=2",
 *   "#SBATCH -N 1",
 *   "#SBATCH --exclusive",
 * ]);
 * ```
 */
export function sbatchLines(options: Readonly<Record<string, SbatchValue>>): string[] {
  return slurmFlags(options).map((words) => `#SBATCH ${words.join(" ")}`);
}

/**
 * Slurm options as command-line flags (sbatch's and srun's): one list of words an option.
 *
 * @param options The options.
 * @returns `[["--mem=1G"], ["-p", "debug"]]`.
 * @throws {TypeError} For a bad name or value.
 */
export function slurmFlags(options: Readonly<Record<string, SbatchValue>>): string[][] {
  return optionItems(options, "Slurm", /^[A-Za-z][A-Za-z0-9_-]*$/).map(([key, text]) => {
    const name = key.replaceAll("_", "-");
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    return text === true ? [flag] : name.length === 1 ? [flag, text] : [`${flag}=${text}`];
  });
}

/** The Slurm options, checked, with their defaults. */
export interface ResolvedSlurmOptions {
  /** sbatch options. */
  slurmOpts: Record<string, SbatchValue>;
  /** The sbatch program. */
  sbatch: string;
  /** The squeue program. */
  squeue: string;
  /** The scancel program. */
  scancel: string;
}

/**
 * Check the Slurm options.
 *
 * @param options The options (prefixed keys already merged into `slurmOpts`).
 * @returns The options, checked.
 * @throws {TypeError} For a value of the wrong kind.
 */
export function resolveSlurmOptions(options: SlurmSchedulerOptions): ResolvedSlurmOptions {
  const slurmOpts = options.slurmOpts ?? {};
  if (typeof slurmOpts !== "object" || slurmOpts === null || Array.isArray(slurmOpts)) {
    throw new TypeError(`Option "slurmOpts" must be an object of sbatch options`);
  }
  sbatchLines(slurmOpts);
  return {
    slurmOpts: { ...slurmOpts },
    sbatch: checkString("sbatch", options.sbatch ?? "sbatch"),
    squeue: checkString("squeue", options.squeue ?? "squeue"),
    scancel: checkString("scancel", options.scancel ?? "scancel"),
  };
}

/**
 * A job's resources as sbatch options: `cpus-per-task` (whole CPUs), `mem` (MiB), and
 * `gres=gpu:N`.
 *
 * @param resources The resources.
 * @returns The options.
 * @example
 * ```ts
 * import { slurmResources } from "./options.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(slurmResources({ cpus: 1.5, memory: 2 * 1024 ** 3, gpus: 1 }), {
 *   "cpus-per-task": 2,
 *   mem: "2048M",
 *   gres: "gpu:1",
 * });
 * ```
 */
export function slurmResources(resources: Resources): Record<string, SbatchValue> {
  const options: Record<string, SbatchValue> = {};
  if (resources.cpus !== undefined) options["cpus-per-task"] = Math.ceil(resources.cpus);
  if (resources.memory !== undefined) {
    options.mem = `${Math.ceil(resources.memory / 1024 ** 2)}M`;
  }
  if (typeof resources.gpus === "number") options.gres = `gpu:${resources.gpus}`;
  return options;
}

/**
 * A batch script's `comment` option: the user's comment, if any, then `;` and the mark.
 *
 * @param given The user's comment option (a list gives its last, as sbatch takes).
 * @param mark The submission's mark.
 * @returns The option's value.
 */
export function markedComment(given: SbatchValue | undefined, mark: string): string {
  const text = Array.isArray(given) ? given.at(-1) : given;
  return text === undefined || typeof text === "boolean" ? mark : `${text};${mark}`;
}
