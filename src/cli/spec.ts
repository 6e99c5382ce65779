// Run specs: the YAML file, the flags of `xqc run`, their validation and their merge.

import { parse as parseYaml } from "@std/yaml";
import { ValidationError } from "../core/errors.ts";
import { isEnvName } from "../core/job.ts";
import { parseResources, type ResourceOptions } from "../core/resources.ts";
import { sbatchLines, type SbatchValue } from "../schedulers/slurm/options.ts";
import { qsubLines } from "../schedulers/sge/options.ts";

/** One job of a spec. */
export interface JobSpec extends ResourceOptions {
  /** A command line (run by bash) or an argv. */
  cmd: string | string[];
  /** The job's own variables. */
  envs?: Record<string, string>;
  /** The job's own image. */
  image?: string;
}

/** What a job of a spec may hold besides `cmd`. */
const JOB_KEYS = ["cmd", "envs", "image", "cpus", "memory", "gpus"];

/** A batch: the options of `xqc run` and its jobs. */
export interface BatchSpec {
  scheduler?: "local" | "container" | "slurm" | "sge";
  image?: string;
  bin?: string;
  forks?: number;
  workdir?: string;
  volumes?: string[];
  envs?: Record<string, string>;
  user?: string;
  remove?: boolean;
  entrypoint?: string | string[];
  binArgs?: string[];
  cwd?: string;
  volumeAsCwd?: string;
  mountedWorkdir?: string;
  errorStrategy?: "ignore" | "retry" | "halt";
  numRetries?: number;
  timeout?: number;
  prescript?: string;
  postscript?: string;
  jobnamePrefix?: string;
  submissionBatch?: number;
  recheckInterval?: number;
  slurmOpts?: Record<string, SbatchValue>;
  slurmArray?: boolean | "auto";
  sbatch?: string;
  squeue?: string;
  scancel?: string;
  sgeOpts?: Record<string, SbatchValue>;
  sgeArray?: boolean | "auto";
  qsub?: string;
  qstat?: string;
  qdel?: string;
  qacct?: string;
  sgePe?: string;
  sgeMemoryResource?: string;
  sgeGpuResource?: string;
  pollInterval?: number;
  exitReadTimeout?: number;
  cpus?: number | string;
  memory?: number | string;
  gpus?: number | string;
  memoryRetryFactor?: number;
  pull?: "missing" | "always" | "never";
  pullArgs?: string[];
  sifCache?: string;
  envPass?: string[];
  pool?: boolean;
  poolRecycle?: number;
  jobs?: JobSpec[];
}

type Kind =
  | "string"
  | "int"
  | "number"
  | "bool"
  | "strings"
  | "envs"
  | "argv"
  | "choice"
  | "jobs"
  | "sbatch"
  | "qsub"
  | "array"
  | "resource";

interface KeyRule {
  kind: Kind;
  min?: number;
  choices?: readonly string[];
}

/** The keys a spec may have, and what each holds. */
export const SPEC_KEYS: Readonly<Record<keyof BatchSpec, KeyRule>> = {
  scheduler: { kind: "choice", choices: ["local", "container", "slurm", "sge"] },
  image: { kind: "string" },
  bin: { kind: "string" },
  forks: { kind: "int", min: 1 },
  workdir: { kind: "string" },
  volumes: { kind: "strings" },
  envs: { kind: "envs" },
  user: { kind: "string" },
  remove: { kind: "bool" },
  entrypoint: { kind: "argv" },
  binArgs: { kind: "strings" },
  cwd: { kind: "string" },
  volumeAsCwd: { kind: "string" },
  mountedWorkdir: { kind: "string" },
  errorStrategy: { kind: "choice", choices: ["ignore", "retry", "halt"] },
  numRetries: { kind: "int", min: 0 },
  timeout: { kind: "number", min: 0 },
  prescript: { kind: "string" },
  postscript: { kind: "string" },
  jobnamePrefix: { kind: "string" },
  submissionBatch: { kind: "int", min: 1 },
  recheckInterval: { kind: "number", min: 0 },
  slurmOpts: { kind: "sbatch" },
  slurmArray: { kind: "array" },
  sbatch: { kind: "string" },
  squeue: { kind: "string" },
  scancel: { kind: "string" },
  sgeOpts: { kind: "qsub" },
  sgeArray: { kind: "array" },
  qsub: { kind: "string" },
  qstat: { kind: "string" },
  qdel: { kind: "string" },
  qacct: { kind: "string" },
  sgePe: { kind: "string" },
  sgeMemoryResource: { kind: "string" },
  sgeGpuResource: { kind: "string" },
  pollInterval: { kind: "number", min: 0.05 },
  exitReadTimeout: { kind: "number", min: 0 },
  cpus: { kind: "resource" },
  memory: { kind: "resource" },
  gpus: { kind: "resource" },
  memoryRetryFactor: { kind: "number", min: 1 },
  pull: { kind: "choice", choices: ["missing", "always", "never"] },
  pullArgs: { kind: "strings" },
  sifCache: { kind: "string" },
  envPass: { kind: "strings" },
  pool: { kind: "bool" },
  poolRecycle: { kind: "int", min: 0 },
  jobs: { kind: "jobs" },
};

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value) ?? String(value);
}

function checkEnvs(value: unknown, where: string): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(`${where} must be a mapping of NAME: value, not ${show(value)}`);
  }
  const envs: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!isEnvName(name)) throw new ValidationError(`${where}: bad env name "${name}"`);
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") {
      throw new ValidationError(`${where}: env "${name}" must be a string, not ${show(v)}`);
    }
    envs[name] = String(v);
  }
  return envs;
}

function checkBatchOptions(
  value: unknown,
  where: string,
  kind: "sbatch" | "qsub",
): Record<string, SbatchValue> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError(`${where} must be a mapping of ${kind} options, not ${show(value)}`);
  }
  try {
    (kind === "sbatch" ? sbatchLines : qsubLines)(value as Record<string, SbatchValue>);
  } catch (e) {
    throw new ValidationError(`${where}: ${(e as Error).message}`);
  }
  return value as Record<string, SbatchValue>;
}

function checkResources(resources: ResourceOptions, label: (key: string) => string): void {
  try {
    parseResources(resources, label);
  } catch (e) {
    throw new ValidationError((e as Error).message);
  }
}

function checkJob(item: unknown, where: string): JobSpec {
  // YAML reads `- true` or `- 42` as a boolean or a number; as a command it is a word.
  if (typeof item === "boolean" || typeof item === "number") item = String(item);
  if (typeof item === "string") {
    if (!item.trim()) throw new ValidationError(`${where} is an empty command`);
    return { cmd: item, envs: {} };
  }
  if (Array.isArray(item)) {
    if (!item.length) throw new ValidationError(`${where} is an empty command`);
    const words = item.map((word) => {
      if (typeof word !== "string" && typeof word !== "number") {
        throw new ValidationError(`${where}: argv word ${show(word)} is not a string`);
      }
      return String(word);
    });
    if (words[0] === "") throw new ValidationError(`${where} is an empty command`);
    return { cmd: words, envs: {} };
  }
  if (typeof item === "object" && item !== null) {
    const record = item as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      if (!JOB_KEYS.includes(key)) {
        throw new ValidationError(
          `${where}: unknown key "${key}" (a job has ${JOB_KEYS.join(", ")})`,
        );
      }
    }
    if (!("cmd" in record)) throw new ValidationError(`${where}: "cmd" is missing`);
    if (typeof record.cmd !== "string" && !Array.isArray(record.cmd)) {
      throw new ValidationError(
        `${where}: "cmd" must be a command line or an argv list, not ${show(record.cmd)}`,
      );
    }
    const job = checkJob(record.cmd, `${where} cmd`);
    if (record.image !== undefined && (typeof record.image !== "string" || !record.image)) {
      throw new ValidationError(`${where}: "image" must be an image, not ${show(record.image)}`);
    }
    const own = { cpus: record.cpus, memory: record.memory, gpus: record.gpus } as ResourceOptions;
    checkResources(own, (key) => `${where}: "${key}"`);
    return {
      cmd: job.cmd,
      envs: record.envs === undefined ? {} : checkEnvs(record.envs, `${where} envs`),
      ...(record.image === undefined ? {} : { image: record.image as string }),
      ...Object.fromEntries(Object.entries(own).filter(([, v]) => v !== undefined)),
    };
  }
  throw new ValidationError(
    `${where} must be a command line, an argv list or {cmd, envs, …}, not ${show(item)}`,
  );
}

/**
 * Check one value of a spec against its key's rule.
 *
 * @param key The key.
 * @param value The value.
 * @param where How to name the key in a message (`Spec "x.yaml": key "forks"`).
 * @returns The value, normalised.
 * @throws {ValidationError} For an unknown key or a value of the wrong type.
 */
export function checkSpecValue(key: string, value: unknown, where: string): unknown {
  const rule = (SPEC_KEYS as Record<string, KeyRule>)[key];
  if (!rule) throw new ValidationError(`${where}: unknown key "${key}"`);
  switch (rule.kind) {
    case "string":
      if (typeof value !== "string") {
        throw new ValidationError(`${where} must be a string, not ${show(value)}`);
      }
      return value;
    case "int":
    case "number": {
      const min = rule.min ?? 0;
      const ok = typeof value === "number" && Number.isFinite(value) && value >= min &&
        (rule.kind === "number" || Number.isInteger(value));
      if (!ok) {
        const what = rule.kind === "int" ? "a whole number" : "a number";
        throw new ValidationError(`${where} must be ${what} >= ${min}, not ${show(value)}`);
      }
      return value;
    }
    case "bool":
      if (typeof value !== "boolean") {
        throw new ValidationError(`${where} must be true or false, not ${show(value)}`);
      }
      return value;
    case "strings": {
      const list = typeof value === "string" ? [value] : value;
      if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
        throw new ValidationError(`${where} must be a list of strings, not ${show(value)}`);
      }
      return list;
    }
    case "argv":
      if (typeof value === "string" && value) return value;
      if (Array.isArray(value) && value.length && value.every((w) => typeof w === "string" && w)) {
        return value;
      }
      throw new ValidationError(`${where} must be a program or an argv list, not ${show(value)}`);
    case "choice":
      if (typeof value !== "string" || !rule.choices!.includes(value)) {
        throw new ValidationError(
          `${where} must be one of ${rule.choices!.join(", ")}, not ${show(value)}`,
        );
      }
      return value;
    case "envs":
      return checkEnvs(value, where);
    case "sbatch":
    case "qsub":
      return checkBatchOptions(value, where, rule.kind);
    case "resource":
      checkResources({ [key]: value } as ResourceOptions, () => where);
      return value;
    case "array":
      if (value === true || value === false || value === "auto") return value;
      throw new ValidationError(`${where} must be true, false or "auto", not ${show(value)}`);
    case "jobs": {
      if (!Array.isArray(value)) {
        throw new ValidationError(`${where} must be a list, not ${show(value)}`);
      }
      return value.map((item, i) => checkJob(item, `${where} item ${i + 1}`));
    }
  }
}

/**
 * Check a parsed spec object.
 *
 * @param data What the YAML held.
 * @param source The file's name, for messages.
 * @returns The spec.
 * @throws {ValidationError} Naming the key and the file.
 */
export function checkSpec(data: unknown, source: string): BatchSpec {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ValidationError(`Spec "${source}" must be a mapping of options, with "jobs"`);
  }
  const spec: Record<string, unknown> = {};
  // xqute's way: `slurm_<name>` / `sge_<name>` keys are options of sbatch / qsub.
  const prefixed: Record<string, Record<string, unknown>> = {};
  for (const [key, value] of Object.entries(data)) {
    const match = /^(slurm|sbatch|sge|qsub)_(.+)$/.exec(key);
    if (match && !(key in SPEC_KEYS)) {
      const into = /^(slurm|sbatch)$/.test(match[1]) ? "slurmOpts" : "sgeOpts";
      (prefixed[into] ??= {})[match[2]] = value;
      continue;
    }
    if (!(key in SPEC_KEYS)) throw new ValidationError(`Spec "${source}": unknown key "${key}"`);
    spec[key] = checkSpecValue(key, value, `Spec "${source}": key "${key}"`);
  }
  for (const [into, options] of Object.entries(prefixed)) {
    const merged = { ...options, ...(spec[into] as Record<string, unknown> | undefined) };
    const keys = Object.keys(options).map((k) =>
      `"${into === "slurmOpts" ? "slurm" : "sge"}_${k}"`
    );
    spec[into] = checkSpecValue(into, merged, `Spec "${source}": key ${keys.join(", ")}`);
  }
  return spec as BatchSpec;
}

/**
 * Read and check a YAML spec file.
 *
 * @param path The file.
 * @returns The spec.
 * @throws {ValidationError} For a missing file, broken YAML (with its line) or a bad key.
 */
export async function loadSpecFile(path: string): Promise<BatchSpec> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ValidationError(
      `Spec "${path}" cannot be read: ${e instanceof Error ? e.message : e}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text) as unknown;
  } catch (e) {
    const first = String(e instanceof Error ? e.message : e).split("\n")[0];
    throw new ValidationError(`Spec "${path}" is not valid YAML: ${first}`);
  }
  return checkSpec(data, path);
}

/**
 * Read a jobs file: one job a line, a bash command line run as written (as GNU parallel
 * runs a line: `a | b > out` is a pipe and a redirection); blank lines and lines whose
 * first word starts with `#` are skipped. A line with broken quoting is bash's to report,
 * in the job's stderr (rc 2), as for a spec's string job.
 *
 * @param text The file's text.
 * @returns The jobs.
 * @example
 * ```ts
 * import { parseJobsText } from "./spec.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(parseJobsText("# a comment\n\necho hi > out.txt\n").map((job) => job.cmd), [
 *   "echo hi > out.txt",
 * ]);
 * ```
 */
export function parseJobsText(text: string): JobSpec[] {
  const jobs: JobSpec[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed && !trimmed.startsWith("#")) jobs.push({ cmd: line.replace(/\r$/, "") });
  }
  return jobs;
}
