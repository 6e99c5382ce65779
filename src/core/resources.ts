// A job's resources: CPUs, memory and GPUs, as given (`4g`, `1.5`, `all`), checked, and
// written back the way engines and Slurm take them.

/** The resources a job asks for. Absent ones are not limited. */
export interface Resources {
  /** CPUs (a fraction is allowed where the engine allows it). */
  cpus?: number;
  /** Memory, in bytes. */
  memory?: number;
  /** GPUs: a count, or `"all"`. */
  gpus?: number | "all";
}

/** Resources as a user writes them: memory as `"4g"` or bytes, CPUs as `"1.5"` or 1.5. */
export interface ResourceOptions {
  /** CPUs: a number > 0. */
  cpus?: number | string;
  /** Memory: bytes, or a number with a unit: `512m`, `4g`, `1.5G`, `100k`, `2t`. */
  memory?: number | string;
  /** GPUs: a whole number > 0, or `"all"`. */
  gpus?: number | string;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Read a memory size: bytes, or a number with a unit (`k`, `m`, `g`, `t`, binary; an
 * optional `b` or `ib`, any case).
 *
 * @param value The size.
 * @param label How to name it in a message.
 * @returns Bytes (at least 1 MiB).
 * @throws {RangeError} For anything else.
 * @example
 * ```ts
 * import { parseMemory } from "./resources.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(parseMemory("512m"), 512 * 1024 ** 2);
 * assertEquals(parseMemory("1.5G"), 1.5 * 1024 ** 3);
 * ```
 */
export function parseMemory(value: unknown, label = `Option "memory"`): number {
  const text = typeof value === "number" ? String(value) : value;
  const match = typeof text === "string"
    ? /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text)
    : null;
  const bytes = match ? Math.round(Number(match[1]) * UNITS[match[2].toLowerCase()]) : NaN;
  if (!Number.isFinite(bytes) || bytes < 1024 ** 2) {
    throw new RangeError(
      `${label} must be a memory size of 1m or more such as "512m" or "4g", not ${
        JSON.stringify(value)
      }`,
    );
  }
  return bytes;
}

/**
 * Write a memory size as engines take it: whole mebibytes (`256m`), or gibibytes when whole
 * (`4g`).
 *
 * @param bytes The size.
 * @returns The text.
 * @example
 * ```ts
 * import { formatMemory } from "./resources.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(formatMemory(4 * 1024 ** 3), "4g");
 * assertEquals(formatMemory(1.5 * 1024 ** 3), "1536m");
 * ```
 */
export function formatMemory(bytes: number): string {
  const mib = Math.ceil(bytes / 1024 ** 2);
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}

/**
 * Check resources as given, and read them.
 *
 * @param options The resources.
 * @param label How to name a key in a message (default `Option "memory"`).
 * @returns The resources, in numbers.
 * @throws {RangeError} For a bad value, naming its key.
 */
export function parseResources(
  options: ResourceOptions,
  label: (key: string) => string = (key) => `Option "${key}"`,
): Resources {
  const resources: Resources = {};
  if (options.cpus !== undefined) {
    const cpus = typeof options.cpus === "string" && /^\s*\d+(\.\d+)?\s*$/.test(options.cpus)
      ? Number(options.cpus)
      : options.cpus;
    if (typeof cpus !== "number" || !Number.isFinite(cpus) || cpus <= 0) {
      throw new RangeError(
        `${label("cpus")} must be a number of CPUs > 0 such as 2 or 1.5, not ${
          JSON.stringify(options.cpus)
        }`,
      );
    }
    resources.cpus = cpus;
  }
  if (options.memory !== undefined) {
    resources.memory = parseMemory(options.memory, label("memory"));
  }
  if (options.gpus !== undefined) {
    const gpus = options.gpus === "all"
      ? "all"
      : typeof options.gpus === "string" && /^\d+$/.test(options.gpus)
      ? Number(options.gpus)
      : options.gpus;
    if (gpus !== "all" && (typeof gpus !== "number" || !Number.isInteger(gpus) || gpus < 1)) {
      throw new RangeError(
        `${label("gpus")} must be a whole number > 0 or "all", not ${JSON.stringify(options.gpus)}`,
      );
    }
    resources.gpus = gpus;
  }
  return resources;
}

/**
 * The resources of a trial: a job's own over its scheduler's, with the memory multiplied by
 * `factor` (more memory for a retry after running out).
 *
 * @param base The scheduler's.
 * @param own The job's.
 * @param factor The memory factor (1 for a first trial).
 * @returns The trial's resources.
 */
export function trialResources(base: Resources, own: Resources, factor = 1): Resources {
  const resources: Resources = { ...base, ...own };
  if (resources.memory !== undefined) resources.memory = Math.round(resources.memory * factor);
  return resources;
}
