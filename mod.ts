/**
 * Run batches of shell jobs inside containers (Docker, Podman, Apptainer) or locally,
 * with a concurrency limit, retries, per-job logs and exit codes, and state in Deno.Kv.
 * The names follow the Python library xqute's (`Xqute`, `ContainerScheduler`,
 * `JobStatus`, …), in camelCase.
 *
 * ```ts
 * import { Xqute } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 *
 * const xq = new Xqute({ forks: 2, workdir: await Deno.makeTempDir() });
 * await xq.feed(["echo", "hello"], { envs: { SEED: "1" } });
 * const summary = await xq.runUntilComplete();
 * assertEquals(summary.succeeded, 1);
 * ```
 *
 * Run as a program (`deno run -A jsr:@xq/container run …`), this module is the `xqc`
 * command line.
 *
 * @module
 */

export { Xqute } from "./src/run/xqute.ts";
export type { RunOptions, XquteOptions } from "./src/run/xqute_options.ts";
export { type SchedulerClass, SCHEDULERS } from "./src/run/registry.ts";
export {
  type Awaitable,
  type Plugin,
  type PluginHook,
  PluginManager,
  type PluginRun,
} from "./src/run/plugin.ts";
export { Job, type JobCommand, type JobOptions } from "./src/core/job.ts";
export {
  JobErrorStrategy,
  type JobErrorStrategyName,
  type JobOutcome,
  jobOutcome,
  JobStatus,
  type JobStatusCode,
  type JobStatusName,
  jobStatusName,
  RC_REFUSED,
  RC_VANISHED,
} from "./src/core/status.ts";
export { SchedulerBase } from "./src/schedulers/base.ts";
export { Scheduler } from "./src/schedulers/scheduler.ts";
export type { SchedulerOptions } from "./src/schedulers/options.ts";
export type { JobcmdHook, JobEventHook, JobHooks } from "./src/schedulers/hooks.ts";
export { SubmissionCancelled, type Trial, type TrialEnd } from "./src/schedulers/trial.ts";
export { SpawningScheduler } from "./src/schedulers/spawning.ts";
export { LocalScheduler, type LocalSchedulerOptions } from "./src/schedulers/local.ts";
export { ContainerScheduler } from "./src/schedulers/container/scheduler.ts";
export type { ContainerSchedulerOptions } from "./src/schedulers/container/options.ts";
export type {
  Engine,
  EngineName,
  PullOptions,
  PullPolicy,
  ResolvedImage,
  RunSpec,
} from "./src/engines/engine.ts";
export {
  formatMemory,
  parseMemory,
  type ResourceOptions,
  type Resources,
} from "./src/core/resources.ts";
export type { Mount } from "./src/engines/mounts.ts";
export {
  EngineUnavailableError,
  ValidationError,
  WorkdirBusyError,
  XqcError,
} from "./src/core/errors.ts";
export type { JobSummary, RunSummary } from "./src/core/summary.ts";
export type { JobRecord, RunRecord } from "./src/core/state.ts";
export { readState } from "./src/core/state_view.ts";
export { type Logger, silentLogger, stderrLogger } from "./src/core/logger.ts";
export type { JobUsage } from "./src/core/usage.ts";
export type { Measure } from "./src/core/cgroup_script.ts";
export { VERSION } from "./src/core/version.ts";

if (import.meta.main) {
  const { main } = await import("./src/cli/main.ts");
  Deno.exit(await main(Deno.args));
}
