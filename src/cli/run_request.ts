// What `xqc run` was asked: its flags and spec merged, checked, with the jobs to run.

import { ValidationError } from "../core/errors.ts";
import { shellSplit } from "../core/shell.ts";
import {
  flagList,
  flagNumber,
  type Flags,
  type FlagSpec,
  flagString,
  parseEnvFlag,
  parseFlags,
} from "./flags.ts";
import {
  type BatchSpec,
  checkSpecValue,
  type JobSpec,
  loadSpecFile,
  parseJobsText,
} from "./spec.ts";

/** Everything `xqc run` was asked, checked. */
export interface RunRequest {
  /** The options: the spec's, overridden by the flags. */
  spec: BatchSpec;
  /** The jobs. */
  jobs: JobSpec[];
  /** `--resume`. */
  resume: boolean;
  /** `--dry-run`. */
  dryRun: boolean;
  /** `--json`. */
  json: boolean;
  /** `--quiet`. */
  quiet: boolean;
}

const RUN_FLAGS: FlagSpec = {
  string: [
    "file",
    "jobs",
    "image",
    "bin",
    "forks",
    "workdir",
    "user",
    "entrypoint",
    "cwd",
    "volume-as-cwd",
    "error-strategy",
    "num-retries",
    "timeout",
    "prescript",
    "postscript",
    "recheck-interval",
    "scheduler",
    "sbatch",
    "squeue",
    "scancel",
    "qsub",
    "qstat",
    "qdel",
    "qacct",
    "sge-pe",
    "sge-memory-resource",
    "sge-gpu-resource",
    "poll-interval",
    "exit-read-timeout",
    "cpus",
    "memory",
    "gpus",
    "memory-retry-factor",
    "pull",
    "sif-cache",
    "pool-recycle",
  ],
  boolean: ["resume", "dry-run", "json", "quiet", "pool"],
  negatable: ["remove", "slurm-array", "sge-array"],
  collect: ["volume", "env", "bin-arg", "slurm-opt", "sge-opt", "pull-arg", "env-pass"],
  alias: {
    f: "file",
    j: "jobs",
    i: "image",
    b: "bin",
    n: "forks",
    w: "workdir",
    v: "volume",
    e: "env",
  },
};

/** Flags with a value that map one to one onto a spec key. */
const VALUE_FLAGS: readonly [string, keyof BatchSpec][] = [
  ["image", "image"],
  ["bin", "bin"],
  ["workdir", "workdir"],
  ["user", "user"],
  ["cwd", "cwd"],
  ["volume-as-cwd", "volumeAsCwd"],
  ["error-strategy", "errorStrategy"],
  ["prescript", "prescript"],
  ["postscript", "postscript"],
  ["scheduler", "scheduler"],
  ["sbatch", "sbatch"],
  ["squeue", "squeue"],
  ["scancel", "scancel"],
  ["qsub", "qsub"],
  ["qstat", "qstat"],
  ["qdel", "qdel"],
  ["qacct", "qacct"],
  ["sge-pe", "sgePe"],
  ["sge-memory-resource", "sgeMemoryResource"],
  ["sge-gpu-resource", "sgeGpuResource"],
  ["cpus", "cpus"],
  ["memory", "memory"],
  ["gpus", "gpus"],
  ["pull", "pull"],
  ["sif-cache", "sifCache"],
];

/** Flags with a number. */
const NUMBER_FLAGS: readonly [string, keyof BatchSpec, boolean][] = [
  ["forks", "forks", true],
  ["num-retries", "numRetries", true],
  ["timeout", "timeout", false],
  ["recheck-interval", "recheckInterval", false],
  ["poll-interval", "pollInterval", false],
  ["exit-read-timeout", "exitReadTimeout", false],
  ["memory-retry-factor", "memoryRetryFactor", false],
  ["pool-recycle", "poolRecycle", true],
];

/** The spec the flags give, each value checked as the spec's own would be. */
function specOfFlags(flags: Flags): BatchSpec {
  const spec: Record<string, unknown> = {};
  const set = (flag: string, key: keyof BatchSpec, value: unknown) => {
    if (value !== undefined) spec[key] = checkSpecValue(key, value, `Option --${flag}`);
  };
  for (const [flag, key] of VALUE_FLAGS) set(flag, key, flagString(flags, flag));
  for (const [flag, key, integer] of NUMBER_FLAGS) {
    const value = flagNumber(flags, flag, integer);
    set(flag, key, Number.isNaN(value) ? flagString(flags, flag) : value);
  }
  set("volume", "volumes", flagList(flags, "volume"));
  set("bin-arg", "binArgs", flagList(flags, "bin-arg"));
  set("pull-arg", "pullArgs", flagList(flags, "pull-arg"));
  set("env-pass", "envPass", flagList(flags, "env-pass"));
  const envs = flagList(flags, "env");
  if (envs) spec.envs = Object.fromEntries(envs.map(parseEnvFlag));
  if (typeof flags.remove === "boolean") spec.remove = flags.remove;
  if (flags.pool === true) spec.pool = true;
  if (typeof flags["slurm-array"] === "boolean") spec.slurmArray = flags["slurm-array"];
  if (typeof flags["sge-array"] === "boolean") spec.sgeArray = flags["sge-array"];
  const slurmOpts = flagList(flags, "slurm-opt");
  if (slurmOpts) set("slurm-opt", "slurmOpts", parseBatchOpts("slurm-opt", slurmOpts));
  const sgeOpts = flagList(flags, "sge-opt");
  if (sgeOpts) set("sge-opt", "sgeOpts", parseBatchOpts("sge-opt", sgeOpts));
  const entrypoint = flagString(flags, "entrypoint");
  if (entrypoint !== undefined) {
    let words: string[];
    try {
      words = shellSplit(entrypoint);
    } catch (e) {
      throw new ValidationError(`Option --entrypoint "${entrypoint}": ${(e as Error).message}`);
    }
    set("entrypoint", "entrypoint", words.length === 1 ? words[0] : words);
  }
  return spec as BatchSpec;
}

/**
 * `--slurm-opt` / `--sge-opt KEY=VALUE` flags as sbatch / qsub options: `KEY` alone is a
 * bare flag, a key given twice is a list (the flag repeated).
 */
function parseBatchOpts(
  flag: string,
  items: readonly string[],
): Record<string, string | true | string[]> {
  const options: Record<string, string | true | string[]> = {};
  for (const item of items) {
    const at = item.indexOf("=");
    const key = at < 0 ? item : item.slice(0, at);
    const value: string | true = at < 0 ? true : item.slice(at + 1);
    const before = options[key];
    if (before === undefined) options[key] = value;
    else if (value === true || before === true) {
      throw new ValidationError(`Option --${flag} "${key}" is given as a flag and a value`);
    } else options[key] = [...(Array.isArray(before) ? before : [before]), value];
  }
  return options;
}

async function readJobsFile(path: string): Promise<JobSpec[]> {
  if (path === "-") {
    const text = await new Response(Deno.stdin.readable).text();
    return parseJobsText(text);
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${(e as Error).message})`;
    throw new ValidationError(`Jobs file "${path}" ${why}`);
  }
  return parseJobsText(text);
}

/**
 * Read the arguments of `xqc run`: the flags (only those before the job's command), the
 * spec file, and the jobs from `--`, `--jobs` or the spec.
 *
 * @param args The arguments after `run`.
 * @returns The request, or `null` when `--help` was asked for.
 * @throws {ValidationError} For anything wrong, naming the flag, key or file.
 */
export async function runRequest(args: string[]): Promise<RunRequest | null> {
  const flags = parseFlags(args, RUN_FLAGS, "run", true);
  if (flags.help) return null;
  const fromFlags = specOfFlags(flags);
  const file = flagString(flags, "file");
  const fromFile = file ? await loadSpecFile(file) : {};
  const spec: BatchSpec = { ...fromFile, ...fromFlags };
  if (fromFile.envs && fromFlags.envs) spec.envs = { ...fromFile.envs, ...fromFlags.envs };

  const command = [...flags._.map(String), ...(flags["--"] ?? [])];
  const jobsFile = flagString(flags, "jobs");
  if (command.length && jobsFile) {
    throw new ValidationError(`Give a command after -- or --jobs, not both`);
  }
  let jobs: JobSpec[];
  if (command.length) {
    if (command[0] === "") throw new ValidationError("The command after -- is empty");
    jobs = [{ cmd: command, envs: {} }];
  } else if (jobsFile) {
    jobs = await readJobsFile(jobsFile);
    if (!jobs.length) throw new ValidationError(`Jobs file "${jobsFile}" has no jobs`);
  } else {
    jobs = fromFile.jobs ?? [];
    if (!jobs.length) {
      throw new ValidationError(
        file
          ? `Spec "${file}" has no jobs`
          : "No jobs: give a command after --, --jobs FILE or --file SPEC.yaml",
      );
    }
  }
  delete spec.jobs;
  return {
    spec,
    jobs,
    resume: flags.resume === true,
    dryRun: flags["dry-run"] === true,
    json: flags.json === true,
    quiet: flags.quiet === true,
  };
}
