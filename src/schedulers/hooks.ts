// The hooks a scheduler calls as its jobs change, without knowing who listens (the plugins).

import type { Job } from "../core/job.ts";

/** The job events, with xqute's hook names. */
export type JobEventHook =
  | "onJobInit"
  | "onJobQueued"
  | "onJobSubmitting"
  | "onJobSubmitted"
  | "onJobStarted"
  | "onJobPolling"
  | "onJobKilling"
  | "onJobKilled"
  | "onJobFailed"
  | "onJobSucceeded";

/** The hooks that put bash code into a job's wrapper. */
export type JobcmdHook = "onJobcmdInit" | "onJobcmdPrep" | "onJobcmdEnd";

/**
 * What a scheduler calls on its job events. `S` is the scheduler's type, given by the
 * layer that implements the hooks (the plugins).
 */
export interface JobHooks<S> {
  /**
   * Whether anyone listens to a hook.
   *
   * @param hook The hook.
   */
  has(hook: JobEventHook | JobcmdHook): boolean;
  /**
   * Tell of a job event.
   *
   * @param hook The event.
   * @param scheduler The scheduler.
   * @param job The job.
   * @param counter For `onJobPolling`, how many times the job was looked at.
   * @returns `false` when a listener cancels (`onJobSubmitting`, `onJobKilling`).
   */
  event(hook: JobEventHook, scheduler: S, job: Job, counter?: number): Promise<boolean>;
  /**
   * Collect bash code for a job's wrapper.
   *
   * @param hook Where in the wrapper it goes.
   * @param scheduler The scheduler.
   * @param job The job.
   * @returns The code.
   */
  jobcmd(hook: JobcmdHook, scheduler: S, job: Job): string;
}

/** Hooks that nobody listens to. */
export const NO_HOOKS: JobHooks<unknown> = {
  has: () => false,
  event: () => Promise.resolve(true),
  jobcmd: () => "",
};
