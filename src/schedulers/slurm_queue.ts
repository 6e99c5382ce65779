// Slurm's queue as the Slurm scheduler sees it: one `squeue` per interval for every job it
// watches, and one `scancel` for every job it kills at once.

import { delay } from "@std/async/delay";
import { callController } from "./slurm_controller.ts";
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

/** States of a job that ran and was put back to wait (it will start again from the top). */
const REQUEUED = new Set(["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED"]);

/**
 * The job ids a line of `squeue %i` stands for: `123`, `123_4`, or the waiting tasks of an
 * array, `123_[1,3-5%2]`.
 *
 * @param field The field.
 * @returns The ids.
 * @example
 * ```ts
 * import { taskIds } from "./slurm_queue.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(taskIds("12_[1,3-5%2]"), ["12_1", "12_3", "12_4", "12_5"]);
 * assertEquals(taskIds("12_7"), ["12_7"]);
 * ```
 */
export function taskIds(field: string): string[] {
  const match = /^(\d+)_\[([\d,-]+)(?:%\d+)?\]$/.exec(field);
  if (!match) return [field];
  const ids: string[] = [];
  for (const part of match[2].split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let task = from; task <= to; task++) ids.push(`${match[1]}_${task}`);
  }
  return ids;
}

/**
 * Whether a Slurm state means the job still holds its place in the queue.
 *
 * @param state A state as `squeue %T` prints it.
 * @returns `true` while pending, running, suspended or being requeued.
 */
export function isLiveState(state: string): boolean {
  return LIVE.has(state);
}

/** scancel's words for jobs that had ended already. */
const ENDED = /invalid job id|already completing|completed/i;

/** What the queue tells a watcher of one job. */
export interface QueueWatch {
  /** The job's script started. */
  running(): void;
  /** The job left the queue: its last state, or `null` when it is gone without one. */
  ended(state: string | null): void;
  /** The job ran and waits again (Slurm requeued it: a node failed, a preemption). */
  requeued(state: string): void;
}

/** The programs and pace of a queue. */
export interface QueueOptions {
  /** The squeue program. */
  squeue: string;
  /** The scancel program. */
  scancel: string;
  /** Milliseconds between two looks. */
  intervalMs: number;
  /** The start of the name of every Slurm job of the run: only those are looked at. */
  namePrefix: string;
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
   * The states of this run's jobs, from one listing of the run (see `#list`).
   *
   * @param jids The ids wanted (`123`, `123_4`); others the listing holds come too.
   * @returns Each known job's state; a job Slurm no longer knows is absent. `null` when
   *   squeue failed: nothing is known.
   */
  async states(jids: readonly string[]): Promise<Map<string, string> | null> {
    if (!jids.length) return new Map();
    const jobs = await this.#list();
    return jobs && new Map(jobs.map((job) => [job.jid, job.state]));
  }

  /**
   * One `squeue` call for the whole run: this user's jobs whose names start with the run's
   * prefix (never a list of ids; array tasks that still wait are one line, `12_[3-9%2]`,
   * expanded here).
   */
  async #list(): Promise<{ jid: string; name: string; state: string }[] | null> {
    this.calls++;
    const out = await runCommand(
      [this.#options.squeue, "-h", "--me", "-t", "all", "-o", "%i|%j|%T"],
      { deadlineMs: 60_000 },
    );
    if (out.code !== 0) {
      if (!this.#failing) this.#options.logger.warn(`squeue failed: ${out.stderr.trim()}`);
      this.#failing = true;
      return null;
    }
    this.#failing = false;
    const jobs = [];
    for (const line of out.stdout.split("\n")) {
      const [jid, name, state] = line.trim().split("|");
      if (!jid || !state || !name?.startsWith(this.#options.namePrefix)) continue;
      for (const id of taskIds(jid)) jobs.push({ jid: id, name, state: state.replace(/\+$/, "") });
    }
    return jobs;
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
      await this.#scancel(ids);
    });
    return this.#cancelling;
  }

  /** scancel, tried again with growing pauses while the controller does not answer. */
  async #scancel(ids: readonly string[]): Promise<void> {
    const warn = (message: string) => this.#options.logger.warn(message);
    const out = await callController([this.#options.scancel, ...ids], warn);
    // Jobs that already ended are no failure.
    if ("code" in out && out.code !== 0 && !ENDED.test(out.stderr)) {
      warn(`scancel failed: ${out.stderr.trim()}`);
    }
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
      if (states && !jids.some((jid) => isLiveState(states.get(jid) ?? ""))) return;
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
      (prefix ? job.name.startsWith(name) : job.name === name) && isLiveState(job.state)
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
          if (state && RUNNING.has(state) && !watch.seenRunning) {
            watch.seenRunning = true;
            watch.running();
          } else if (state && REQUEUED.has(state) && watch.seenRunning) {
            watch.seenRunning = false;
            watch.requeued(state);
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
