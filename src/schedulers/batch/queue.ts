// A batch system's queue as a batch scheduler sees it: one listing per interval for every
// job it watches (squeue, qstat), and one cancel for every job it kills at once.

import { delay } from "@std/async/delay";
import { callController } from "./controller.ts";
import type { Logger } from "../../core/logger.ts";
import type { BatchSystem, QueueEntry } from "./system.ts";

/** What the queue tells a watcher of one job. */
export interface QueueWatch {
  /** The job's script started. */
  running(): void;
  /** The job left the queue: its last state, or `null` when it is gone without one. */
  ended(state: string | null): void;
  /** The job ran and waits again (requeued: a node failed, a preemption). */
  requeued(state: string): void;
  /** The system keeps the job in an error state (Grid Engine's `Eqw`); told once. */
  error(state: string): void;
}

/** The system and pace of a queue. */
export interface QueueOptions {
  /** The batch system. */
  system: BatchSystem;
  /** Milliseconds between two looks. */
  intervalMs: number;
  /** The start of the name of every job of the run: only those are looked at. */
  namePrefix: string;
  /** Where trouble is told. */
  logger: Logger;
}

/** Watches a run's jobs with one listing per interval, and cancels them in batches. */
export class BatchQueue {
  /** How many times the queue was listed (the batching is tested by it). */
  calls = 0;
  #options: QueueOptions;
  #system: BatchSystem;
  #watched = new Map<string, QueueWatch & { seenRunning: boolean; seenError: boolean }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cancels = new Set<string>();
  #cancelling: Promise<void> | null = null;
  #failing = false;

  /**
   * A queue.
   *
   * @param options The system, the interval and the logger.
   */
  constructor(options: QueueOptions) {
    this.#options = options;
    this.#system = options.system;
  }

  /**
   * Watch a job until it leaves the queue.
   *
   * @param jid Its id (`123`, or an array task's).
   * @param watch What to tell.
   */
  watch(jid: string, watch: QueueWatch): void {
    this.#watched.set(jid, { ...watch, seenRunning: false, seenError: false });
    this.#schedule();
  }

  /**
   * Stop watching a job.
   *
   * @param jid Its id.
   */
  unwatch(jid: string): void {
    this.#watched.delete(jid);
  }

  /**
   * The states of this run's jobs, from one listing of the run (see `#list`).
   *
   * @param jids The ids wanted (`123`, `123_4`); others the listing holds come too.
   * @returns Each known job's state; a job the system no longer lists is absent. `null` when
   *   the listing failed: nothing is known.
   */
  async states(jids: readonly string[]): Promise<Map<string, string> | null> {
    if (!jids.length) return new Map();
    const jobs = await this.#list();
    return jobs && new Map(jobs.map((job) => [job.jid, job.state]));
  }

  /**
   * One listing for the whole run: this user's jobs whose names start with the run's
   * prefix (never a list of ids).
   */
  async #list(): Promise<QueueEntry[] | null> {
    this.calls++;
    const jobs = await this.#system.list();
    if (!Array.isArray(jobs)) {
      if (!this.#failing) this.#options.logger.warn(jobs.failed);
      this.#failing = true;
      return null;
    }
    this.#failing = false;
    return jobs.filter((job) => job.name.startsWith(this.#options.namePrefix));
  }

  /**
   * Cancel jobs; the jobs cancelled in the same turn go in one call.
   *
   * @param jids Their ids.
   */
  cancel(jids: readonly string[]): Promise<void> {
    for (const jid of jids) this.#cancels.add(jid);
    this.#cancelling ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(async () => {
      const ids = [...this.#cancels];
      this.#cancels.clear();
      this.#cancelling = null;
      await this.#cancel(ids);
    });
    return this.#cancelling;
  }

  /** The cancel, tried again with growing pauses while the controller does not answer. */
  async #cancel(ids: readonly string[]): Promise<void> {
    const warn = (message: string) => this.#options.logger.warn(message);
    const system = this.#system;
    const out = await callController(system.cancelArgv(ids), system.unanswered, warn);
    // Jobs that already ended are no failure.
    if ("code" in out && out.code !== 0 && !system.cancelEnded.test(out.stderr + out.stdout)) {
      warn(`${system.cancelArgv([])[0]} failed: ${(out.stderr || out.stdout).trim()}`);
    }
  }

  /**
   * Check that the programs are here and the system answers.
   *
   * @throws {EngineUnavailableError} When not.
   */
  async ping(): Promise<void> {
    await this.#system.ping();
  }

  /**
   * Cancel jobs and wait (up to 30 s) until they left the queue, so that their scripts
   * have stopped their containers.
   *
   * @param jids Their ids.
   */
  async cancelAndWait(jids: readonly string[]): Promise<void> {
    if (!jids.length) return;
    await this.cancel(jids);
    for (let i = 0; i < 300; i++) {
      const states = await this.states(jids);
      const live = (jid: string) => states?.has(jid) && this.#system.isLive(states.get(jid)!);
      if (states && !jids.some(live)) return;
      await delay(100);
    }
  }

  /**
   * The ids of this user's live jobs of a name, or whose name starts with a prefix (a
   * crashed run's leftovers), among the run's (the name starts with the run's prefix).
   *
   * @param name The name, or with `prefix` the start of the names.
   * @param prefix Whether `name` is a prefix (`pool1` alone must not match `pool10`).
   * @returns Their ids.
   */
  async liveByName(name: string, prefix = false): Promise<string[]> {
    return ((await this.#list()) ?? []).filter((job) =>
      (prefix ? job.name.startsWith(name) : job.name === name) && this.#system.isLive(job.state)
    ).map((job) => job.jid);
  }

  #schedule(): void {
    if (this.#timer !== undefined || !this.#watched.size) return;
    this.#timer = setTimeout(() => this.#poll(), this.#options.intervalMs);
  }

  async #poll(): Promise<void> {
    try {
      const jids = [...this.#watched.keys()];
      const states = await this.states(jids);
      if (states) {
        for (const jid of jids) {
          const watch = this.#watched.get(jid);
          if (!watch) continue;
          const state = states.get(jid) ?? null;
          const system = this.#system;
          if (state && system.isError(state)) {
            if (!watch.seenError) {
              watch.seenError = true;
              watch.error(state);
            }
            continue;
          }
          if (state && system.isRunning(state) && !watch.seenRunning) {
            watch.seenRunning = true;
            watch.running();
          } else if (state && system.isWaiting(state) && watch.seenRunning) {
            watch.seenRunning = false;
            watch.requeued(state);
          }
          if (state === null || !system.isLive(state)) {
            this.#watched.delete(jid);
            watch.ended(state);
          }
        }
      }
    } finally {
      this.#timer = undefined;
      this.#schedule();
    }
  }
}
