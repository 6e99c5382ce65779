// Slurm's queue as the Slurm scheduler sees it: one `squeue` per interval for every job it
// watches, and one `scancel` for every job it kills at once.

import { delay } from "@std/async/delay";
import { EngineUnavailableError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import { runCommand } from "../core/process.ts";
import { findOnPath } from "../core/which.ts";

/** States in which a job still holds its place in Slurm (it may run again or soon). */
const LIVE = new Set([
  "PENDING",
  "CONFIGURING",
  "RUNNING",
  "COMPLETING",
  "SUSPENDED",
  "STOPPED",
  "REQUEUED",
  "REQUEUE_HOLD",
  "REQUEUE_FED",
  "RESIZING",
  "SIGNALING",
  "STAGE_OUT",
  "RESV_DEL_HOLD",
  "SPECIAL_EXIT",
]);

/** States in which the job's script runs. */
const RUNNING = new Set(["RUNNING", "COMPLETING", "SIGNALING", "STAGE_OUT"]);

/**
 * Whether a Slurm state means the job still holds its place in the queue.
 *
 * @param state A state as `squeue %T` prints it.
 * @returns `true` while pending, running, suspended or being requeued.
 */
export function isLiveState(state: string): boolean {
  return LIVE.has(state);
}

/** What the queue tells a watcher of one job. */
export interface QueueWatch {
  /** The job's script started. */
  running(): void;
  /** The job left the queue: its last state, or `null` when it is gone without one. */
  ended(state: string | null): void;
}

/** The programs and pace of a queue. */
export interface QueueOptions {
  /** The squeue program. */
  squeue: string;
  /** The scancel program. */
  scancel: string;
  /** Milliseconds between two looks. */
  intervalMs: number;
  /** Where trouble is told. */
  logger: Logger;
}

/** Watches Slurm jobs with one `squeue` call per interval, and cancels them in batches. */
export class SlurmQueue {
  /** How many times `squeue` was called (the batching is tested by it). */
  calls = 0;
  #options: QueueOptions;
  #watched = new Map<string, QueueWatch & { seenRunning: boolean }>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #cancels = new Set<string>();
  #cancelling: Promise<void> | null = null;
  #failing = false;

  /**
   * A queue.
   *
   * @param options The programs, the interval and the logger.
   */
  constructor(options: QueueOptions) {
    this.#options = options;
  }

  /**
   * Watch a job until it leaves the queue.
   *
   * @param jid Its id (`123`, or `123_4` for an array task).
   * @param watch What to tell.
   */
  watch(jid: string, watch: QueueWatch): void {
    this.#watched.set(jid, { ...watch, seenRunning: false });
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
   * The states of jobs, from one `squeue` call.
   *
   * @param jids Their ids.
   * @returns Each known job's state; a job Slurm no longer knows is absent. `null` when
   *   squeue failed.
   */
  async states(jids: readonly string[]): Promise<Map<string, string> | null> {
    const states = new Map<string, string>();
    if (!jids.length) return states;
    // An array task is asked through its array, which lists every task (-r).
    const ids = [...new Set(jids.map((jid) => jid.split("_")[0]))];
    this.calls++;
    const out = await runCommand([
      this.#options.squeue,
      "-h",
      "-t",
      "all",
      "-r",
      "-j",
      ids.join(","),
      "-o",
      "%i|%T",
    ]);
    if (out.code !== 0) {
      // Every id unknown: Slurm says so with an error.
      if (/invalid job id/i.test(out.stderr)) return states;
      if (!this.#failing) this.#options.logger.warn(`squeue failed: ${out.stderr.trim()}`);
      this.#failing = true;
      return null;
    }
    this.#failing = false;
    for (const line of out.stdout.split("\n")) {
      const [jid, state] = line.trim().split("|");
      if (jid && state) states.set(jid, state.replace(/\+$/, ""));
    }
    return states;
  }

  /** The squeue and scancel programs. */
  get programs(): { squeue: string; scancel: string } {
    return { squeue: this.#options.squeue, scancel: this.#options.scancel };
  }

  /**
   * Cancel jobs; the jobs cancelled in the same turn go in one `scancel`.
   *
   * @param jids Their ids.
   */
  cancel(jids: readonly string[]): Promise<void> {
    for (const jid of jids) this.#cancels.add(jid);
    this.#cancelling ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(async () => {
      const ids = [...this.#cancels];
      this.#cancels.clear();
      this.#cancelling = null;
      const out = await runCommand([this.#options.scancel, ...ids], { deadlineMs: 15_000 });
      if (out.code !== 0) this.#options.logger.warn(`scancel failed: ${out.stderr.trim()}`);
    });
    return this.#cancelling;
  }

  /**
   * Check that the programs are here and the cluster answers.
   *
   * @throws {EngineUnavailableError} When not.
   */
  async ping(): Promise<void> {
    for (const program of [this.#options.squeue, this.#options.scancel]) {
      if (!findOnPath(program)) {
        throw new EngineUnavailableError(`Slurm's "${program}" is not on PATH`);
      }
    }
    const out = await runCommand([this.#options.squeue, "-h", "-j", "1", "-o", "%i"], {
      deadlineMs: 30_000,
    });
    if (out.code !== 0 && !/invalid job id/i.test(out.stderr)) {
      throw new EngineUnavailableError(
        `The Slurm cluster does not answer: ${out.stderr.trim().split("\n").pop()}`,
      );
    }
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
      if (states && ![...states.values()].some(isLiveState)) return;
      await delay(100);
    }
  }

  /**
   * The ids of this user's live jobs of a name, or whose name starts with a prefix (a
   * crashed run's leftovers).
   *
   * @param name The name, or with `prefix` the start of the names.
   * @param prefix Whether `name` is a prefix (`pool1` alone must not match `pool10`).
   * @returns Their ids.
   */
  async liveByName(name: string, prefix = false): Promise<string[]> {
    this.calls++;
    const out = await runCommand([this.#options.squeue, "-h", "-r", "--me", "-o", "%i|%j|%T"]);
    if (out.code !== 0) return [];
    return out.stdout.split("\n").map((line) => line.trim().split("|"))
      .filter(([jid, job, state]) =>
        jid && (prefix ? job?.startsWith(name) : job === name) && isLiveState(state)
      )
      .map(([jid]) => jid);
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
          if (state && RUNNING.has(state) && !watch.seenRunning) {
            watch.seenRunning = true;
            watch.running();
          }
          if (state === null || !LIVE.has(state)) {
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
