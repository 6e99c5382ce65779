// The Grid Engine scheduler's options, and how qsub options become `#$` lines.

import { checkString } from "../../core/options.ts";
import type { Resources } from "../../core/resources.ts";
import type { BatchOptions, BatchValue } from "../batch/system.ts";
import { type BatchSchedulerOptions, optionItems } from "../batch/options.ts";

/** Options of {@linkcode SgeScheduler}: the base options, an optional container, and Grid Engine's. */
export interface SgeSchedulerOptions extends BatchSchedulerOptions {
  /** qsub options, each a `#$ -KEY VALUE` line: `{ q: "all.q", l: ["h_rt=1:00:00"] }`. */
  sgeOpts?: Record<string, BatchValue>;
  /** The `qsub` program (default `qsub` on PATH). */
  qsub?: string;
  /** The `qstat` program (default `qstat` on PATH). */
  qstat?: string;
  /** The `qdel` program (default `qdel` on PATH). */
  qdel?: string;
  /** The `qacct` program (default `qacct` on PATH). */
  qacct?: string;
  /** The parallel environment that `cpus` asks slots of (`-pe <pe> N`; default `smp`). */
  pe?: string;
  /**
   * The resource that `memory` asks, per slot (`-l <name>=<memory / cpus>M`; default
   * `h_vmem`, the limit every cell has and enforces; sites that schedule by `mem_free` or
   * `h_rss` name theirs).
   */
  memoryResource?: string;
  /** The resource that `gpus` asks (`-l <name>=N`); none by default: `gpus` is an error. */
  gpuResource?: string;
}

/** The options {@linkcode SgeScheduler} takes besides the base and batch ones. */
export const SGE_OPTION_KEYS: readonly string[] = [
  "sgeOpts",
  "qsub",
  "qstat",
  "qdel",
  "qacct",
  "pe",
  "memoryResource",
  "gpuResource",
];

/**
 * xqute's way of giving qsub options: keys `sge_<name>` or `qsub_<name>` among the
 * scheduler's options. They are taken out and merged into `sgeOpts`.
 *
 * @param options The scheduler's options.
 * @returns The options without those keys, and the qsub options they gave.
 */
export function splitSgeOptions(
  options: Record<string, unknown>,
): { rest: Record<string, unknown>; qsub: Record<string, BatchValue> } {
  const rest: Record<string, unknown> = {};
  const qsub: Record<string, BatchValue> = {};
  for (const [key, value] of Object.entries(options)) {
    const match = /^(?:sge|qsub)_(.+)$/.exec(key);
    if (match) qsub[match[1]] = value as BatchValue;
    else rest[key] = value;
  }
  return { rest, qsub };
}

/**
 * The `#$` lines of qsub options, as xqute writes them: `key` → `-key value` (the name as
 * given: `hold_jid`, `l`), `true` → a bare flag, `false` → nothing, a list → the flag once
 * per item.
 *
 * @param options The options.
 * @returns The lines, in the options' order.
 * @throws {TypeError} For a key that is not an option name or a value that is not one.
 * @example
 * ```ts
 * import { qsubLines } from "./options.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(qsubLines({ q: "all.q", l: ["h_rt=60", "h_vmem=1G"], notify: true }), [
 *   "#$ -q all.q",
 *   "#$ -l h_rt=60",
 *   "#$ -l h_vmem=1G",
 *   "#$ -notify",
 * ]);
 * ```
 */
export function qsubLines(options: BatchOptions): string[] {
  return optionItems(options, "Grid Engine", /^[A-Za-z][A-Za-z0-9_]*$/)
    .map(([key, text]) => text === true ? `#$ -${key}` : `#$ -${key} ${text}`);
}

/** The Grid Engine options, checked, with their defaults. */
export interface ResolvedSgeOptions {
  /** qsub options. */
  sgeOpts: Record<string, BatchValue>;
  /** The programs. */
  qsub: string;
  /** qstat. */
  qstat: string;
  /** qdel. */
  qdel: string;
  /** qacct. */
  qacct: string;
  /** The parallel environment of `cpus`. */
  pe: string;
  /** The resource of `memory`. */
  memoryResource: string;
  /** The resource of `gpus`, if any. */
  gpuResource: string | null;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function checkName(key: string, value: unknown): string {
  const text = checkString(key, value);
  if (!NAME.test(text)) {
    throw new TypeError(`Option "${key}" must be a Grid Engine name, not ${JSON.stringify(text)}`);
  }
  return text;
}

/**
 * Check the Grid Engine options.
 *
 * @param options The options (prefixed keys already merged into `sgeOpts`).
 * @returns The options, checked.
 * @throws {TypeError} For a value of the wrong kind.
 */
export function resolveSgeOptions(options: SgeSchedulerOptions): ResolvedSgeOptions {
  const sgeOpts = options.sgeOpts ?? {};
  if (typeof sgeOpts !== "object" || sgeOpts === null || Array.isArray(sgeOpts)) {
    throw new TypeError(`Option "sgeOpts" must be an object of qsub options`);
  }
  qsubLines(sgeOpts);
  return {
    sgeOpts: { ...sgeOpts },
    qsub: checkString("qsub", options.qsub ?? "qsub"),
    qstat: checkString("qstat", options.qstat ?? "qstat"),
    qdel: checkString("qdel", options.qdel ?? "qdel"),
    qacct: checkString("qacct", options.qacct ?? "qacct"),
    pe: checkName("pe", options.pe ?? "smp"),
    memoryResource: checkName("memoryResource", options.memoryResource ?? "h_vmem"),
    gpuResource: options.gpuResource === undefined
      ? null
      : checkName("gpuResource", options.gpuResource),
  };
}

/**
 * A job's resources as qsub options: `-pe <pe> N` (whole CPUs), `-l <memory>=<M per slot>`
 * (Grid Engine multiplies a per-slot limit by the slots), `-l <gpu>=N`.
 *
 * @param resources The resources.
 * @param options The parallel environment and the resource names.
 * @returns The options.
 * @throws {TypeError} For GPUs when no GPU resource is named.
 * @example
 * ```ts
 * import { sgeResources } from "./options.ts";
 * import { assertEquals } from "@std/assert";
 * const names = { pe: "smp", memoryResource: "h_vmem", gpuResource: null };
 * assertEquals(sgeResources({ cpus: 2, memory: 2 * 1024 ** 3 }, names), {
 *   pe: "smp 2",
 *   l: ["h_vmem=1024M"],
 * });
 * ```
 */
export function sgeResources(
  resources: Resources,
  options: Pick<ResolvedSgeOptions, "pe" | "memoryResource" | "gpuResource">,
): Record<string, BatchValue> {
  const result: Record<string, BatchValue> = {};
  const slots = resources.cpus === undefined ? 1 : Math.ceil(resources.cpus);
  if (resources.cpus !== undefined) result.pe = `${options.pe} ${slots}`;
  const l: string[] = [];
  if (resources.memory !== undefined) {
    l.push(`${options.memoryResource}=${Math.ceil(resources.memory / slots / 1024 ** 2)}M`);
  }
  if (resources.gpus !== undefined) {
    if (!options.gpuResource) {
      throw new TypeError(
        `Grid Engine has no GPU resource set: give its name with "gpuResource" (--sge-gpu-resource)`,
      );
    }
    if (typeof resources.gpus !== "number") {
      throw new TypeError(`Grid Engine needs a number of GPUs, not "${resources.gpus}"`);
    }
    l.push(`${options.gpuResource}=${resources.gpus}`);
  }
  if (l.length) result.l = l;
  return result;
}
