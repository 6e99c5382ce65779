// The options of a run (xqute's, in camelCase), and the names among them.

import type { Logger } from "../core/logger.ts";
import type { JobErrorStrategyName } from "../core/status.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";
import type { Plugin } from "./plugin.ts";
import type { SchedulerClass } from "./registry.ts";

/** Options of {@linkcode Xqute}, as xqute's, in camelCase. */
export interface XquteOptions {
  /** `"local"`, `"container"`, a scheduler, or a scheduler class (default `"local"`). */
  scheduler?: string | Scheduler | SchedulerClass;
  /** How many jobs run at once (default 1). */
  forks?: number;
  /** Where metadirs and state go (default `./.xqute`). */
  workdir?: string;
  /** `"ignore"`, `"retry"` or `"halt"` (default `"ignore"`). */
  errorStrategy?: JobErrorStrategyName;
  /** Retries per job with `"retry"` (default 3). */
  numRetries?: number;
  /** How many jobs may be starting at once (default 8). */
  submissionBatch?: number;
  /** The first part of container names (default `"xqc"`). */
  jobnamePrefix?: string;
  /** Seconds between checks that running jobs still exist where they run (default 60). */
  recheckInterval?: number;
  /** Options for the scheduler (`image`, `bin`, `volumes`, … for containers). */
  schedulerOpts?: Record<string, unknown>;
  /** Plugins whose hooks run. */
  plugins?: Plugin[];
  /** Skip jobs that finished in an earlier run of this workdir with the same command. */
  resume?: boolean;
  /** Stop on SIGINT, SIGTERM and SIGHUP, killing running jobs (default true). */
  handleSignals?: boolean;
  /** Where messages go (default: stderr). */
  logger?: Logger;
}

/** The keys of {@linkcode XquteOptions}. */
export const XQUTE_OPTION_KEYS = new Set([
  "scheduler",
  "forks",
  "workdir",
  "errorStrategy",
  "numRetries",
  "submissionBatch",
  "jobnamePrefix",
  "recheckInterval",
  "schedulerOpts",
  "plugins",
  "resume",
  "handleSignals",
  "logger",
]);

/** Options of {@linkcode Xqute.runUntilComplete}. */
export interface RunOptions {
  /** Return at once and keep taking `feed` calls until `stopFeeding()`. */
  keepFeeding?: boolean;
}
