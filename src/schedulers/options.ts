// The options every scheduler takes, and their checks.

import { isAbsolute, resolve } from "@std/path/posix";
import { validateEnvs } from "../core/job.ts";
import { checkInteger, checkNumber, checkString } from "../core/options.ts";
import { parseResources, type ResourceOptions, type Resources } from "../core/resources.ts";
import { JobErrorStrategy, type JobErrorStrategyName } from "../core/status.ts";

/** Options every scheduler takes (xqute's base scheduler options, and resources). */
export interface SchedulerOptions extends ResourceOptions {
  /** How many jobs run at once (default 1). */
  forks?: number;
  /** Where the metadirs and `state.kv` go (default `./.xqute`). */
  workdir?: string;
  /** The workdir as jobs see it (default: the workdir itself). */
  mountedWorkdir?: string;
  /** The directory jobs start in, as jobs see it. */
  cwd?: string;
  /** What to do when a job fails (default `"ignore"`). */
  errorStrategy?: JobErrorStrategyName;
  /** How many times a failed job is run again with `"retry"` (default 3). */
  numRetries?: number;
  /** Bash run in every job before its command. */
  prescript?: string;
  /** Bash run in every job after its command. */
  postscript?: string;
  /** The first part of container and job names (default `"xqc"`). */
  jobnamePrefix?: string;
  /** How many jobs may be starting (submitted, not yet running) at once (default 8). */
  submissionBatch?: number;
  /** Seconds between checks that running jobs still exist where they run (default 60). */
  recheckInterval?: number;
  /** Seconds after which a job's command is stopped with rc 124 (default 0: none). */
  timeout?: number;
  /** Environment variables set in every job. */
  envs?: Record<string, string>;
  /** What a retry multiplies the memory of a job that ran out of it by (default 2). */
  memoryRetryFactor?: number;
}

/** The names of {@linkcode SchedulerOptions}, for the check of unknown keys. */
export const SCHEDULER_OPTION_KEYS: readonly string[] = [
  "forks",
  "workdir",
  "mountedWorkdir",
  "cwd",
  "errorStrategy",
  "numRetries",
  "prescript",
  "postscript",
  "jobnamePrefix",
  "submissionBatch",
  "recheckInterval",
  "timeout",
  "envs",
  "cpus",
  "memory",
  "gpus",
  "memoryRetryFactor",
];

/** The base options, checked and with their defaults. */
export type ResolvedSchedulerOptions =
  & Required<Omit<SchedulerOptions, keyof ResourceOptions>>
  & { resources: Resources };

const STRATEGIES: readonly string[] = Object.values(JobErrorStrategy);

/**
 * Check the base options and fill in their defaults.
 *
 * @param options The options.
 * @returns Every option, checked.
 * @throws {TypeError} For a value of the wrong kind.
 * @throws {RangeError} For a number out of bounds.
 */
export function resolveSchedulerOptions(options: SchedulerOptions): ResolvedSchedulerOptions {
  const strategy = options.errorStrategy ?? JobErrorStrategy.IGNORE;
  if (!STRATEGIES.includes(strategy)) {
    throw new TypeError(
      `Unknown error strategy "${strategy}" (expected ${STRATEGIES.join(", ")})`,
    );
  }
  const jobnamePrefix = checkString("jobnamePrefix", options.jobnamePrefix ?? "xqc");
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(jobnamePrefix)) {
    throw new TypeError(
      `Option "jobnamePrefix" must be letters, digits, "_", "." or "-", not "${jobnamePrefix}"`,
    );
  }
  const workdir = resolve(checkString("workdir", options.workdir ?? "./.xqute"));
  const mountedWorkdir = checkString("mountedWorkdir", options.mountedWorkdir ?? workdir);
  if (!isAbsolute(mountedWorkdir)) {
    throw new TypeError(
      `Option "mountedWorkdir" must be an absolute path, not "${mountedWorkdir}"`,
    );
  }
  const envs = options.envs ?? {};
  validateEnvs(envs, `Option "envs"`);
  return {
    forks: checkInteger("forks", options.forks ?? 1, 1),
    workdir,
    mountedWorkdir,
    cwd: checkString("cwd", options.cwd ?? ""),
    errorStrategy: strategy,
    numRetries: checkInteger("numRetries", options.numRetries ?? 3, 0),
    prescript: checkString("prescript", options.prescript ?? ""),
    postscript: checkString("postscript", options.postscript ?? ""),
    jobnamePrefix,
    submissionBatch: checkInteger("submissionBatch", options.submissionBatch ?? 8, 1),
    recheckInterval: checkNumber("recheckInterval", options.recheckInterval ?? 60, 0),
    timeout: checkNumber("timeout", options.timeout ?? 0, 0),
    envs: { ...envs },
    resources: parseResources(options),
    memoryRetryFactor: checkNumber("memoryRetryFactor", options.memoryRetryFactor ?? 2, 1),
  };
}
