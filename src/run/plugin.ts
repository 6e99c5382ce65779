// Plugins: objects of optional hooks with xqute's names, and the manager that calls them.

import type { Job } from "../core/job.ts";
import type { JobcmdHook, JobEventHook, JobHooks } from "../schedulers/hooks.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/** A value, or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** What a plugin sees of the run in `onInit` and `onShutdown` (an {@linkcode Xqute}). */
export interface PluginRun {
  /** The jobs fed so far. */
  readonly jobs: readonly Job[];
  /** The scheduler. */
  readonly scheduler: Scheduler;
  /** The run's id. */
  readonly runId: string;
  /**
   * Stop the run; with a signal, kill the running jobs too.
   *
   * @param signal The signal to act on.
   */
  cancel(signal?: Deno.Signal): Promise<void>;
}

/**
 * A plugin: any of these hooks, called as xqute calls its own. Job hooks receive the
 * scheduler and the job; `onJobSubmitting` and `onJobKilling` cancel by returning `false`;
 * the three `onJobcmd*` hooks return bash code put into the job's wrapper.
 */
export interface Plugin {
  /** A name for messages. */
  name?: string;
  /** The run starts (after the engine check, before any job). */
  onInit?(xqute: PluginRun): Awaitable<void>;
  /** The run ends; `signal` is set when a signal ended it. */
  onShutdown?(xqute: PluginRun, signal?: Deno.Signal): Awaitable<void>;
  /** A job was created by `feed`. */
  onJobInit?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job was queued. */
  onJobQueued?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job is about to be submitted; `false` cancels the submission. */
  onJobSubmitting?(scheduler: Scheduler, job: Job): Awaitable<boolean | void>;
  /** A job was submitted to where it runs. */
  onJobSubmitted?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job's wrapper started running its command. */
  onJobStarted?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job's state was looked at (on its events and at each recheck; `counter` counts). */
  onJobPolling?(scheduler: Scheduler, job: Job, counter: number): Awaitable<void>;
  /** A job is about to be killed; `false` cancels the kill. */
  onJobKilling?(scheduler: Scheduler, job: Job): Awaitable<boolean | void>;
  /** A job was killed. */
  onJobKilled?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job's trial failed. */
  onJobFailed?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** A job succeeded. */
  onJobSucceeded?(scheduler: Scheduler, job: Job): Awaitable<void>;
  /** Bash for the wrapper, run before the command is prepared. */
  onJobcmdInit?(scheduler: Scheduler, job: Job): string | void;
  /** Bash for the wrapper, run right before the command. */
  onJobcmdPrep?(scheduler: Scheduler, job: Job): string | void;
  /** Bash for the wrapper, run after the rc is written. */
  onJobcmdEnd?(scheduler: Scheduler, job: Job): string | void;
}

/** The names of the hooks a plugin may have. */
export type PluginHook = Exclude<keyof Plugin, "name">;

/** Calls the hooks of a list of plugins, in order. */
export class PluginManager implements JobHooks<Scheduler> {
  /** The plugins, in the order their hooks run. */
  readonly plugins: readonly Plugin[];

  /**
   * Hold a list of plugins.
   *
   * @param plugins The plugins.
   */
  constructor(plugins: readonly Plugin[] = []) {
    for (const [i, plugin] of plugins.entries()) {
      if (typeof plugin !== "object" || plugin === null) {
        throw new TypeError(`Plugin ${i} is not an object of hooks`);
      }
    }
    this.plugins = [...plugins];
  }

  /**
   * Whether any plugin has a hook.
   *
   * @param hook The hook's name.
   * @returns `true` when one plugin at least defines it.
   */
  has(hook: PluginHook): boolean {
    return this.plugins.some((plugin) => typeof plugin[hook] === "function");
  }

  /**
   * Call a job event hook of every plugin that has it.
   *
   * @param hook The event.
   * @param scheduler The scheduler.
   * @param job The job.
   * @param counter For `onJobPolling`, how many times the job was looked at.
   * @returns `false` when a plugin returned `false` (for the cancelling hooks).
   */
  event(hook: JobEventHook, scheduler: Scheduler, job: Job, counter?: number): Promise<boolean> {
    return this.#call(hook, hook === "onJobPolling" ? [scheduler, job, counter] : [scheduler, job]);
  }

  /**
   * Call `onInit` of every plugin.
   *
   * @param run The run.
   */
  async init(run: PluginRun): Promise<void> {
    await this.#call("onInit", [run]);
  }

  /**
   * Call `onShutdown` of every plugin.
   *
   * @param run The run.
   * @param signal The signal that ended it, if one did.
   */
  async shutdown(run: PluginRun, signal?: Deno.Signal): Promise<void> {
    await this.#call("onShutdown", [run, signal]);
  }

  /**
   * Collect the bash code that the plugins give for one of the wrapper hooks.
   *
   * @param hook `onJobcmdInit`, `onJobcmdPrep` or `onJobcmdEnd`.
   * @param scheduler The scheduler.
   * @param job The job.
   * @returns The code, one plugin's after another.
   */
  jobcmd(hook: JobcmdHook, scheduler: Scheduler, job: Job): string {
    const parts: string[] = [];
    for (const plugin of this.plugins) {
      const code = plugin[hook]?.(scheduler, job);
      if (typeof code === "string" && code.trim()) parts.push(code);
    }
    return parts.join("\n");
  }

  async #call(hook: PluginHook, args: unknown[]): Promise<boolean> {
    let go = true;
    for (const plugin of this.plugins) {
      const fn = plugin[hook] as ((...a: unknown[]) => unknown) | undefined;
      if (typeof fn !== "function") continue;
      if ((await fn.apply(plugin, args)) === false) go = false;
    }
    return go;
  }
}
