// Slurm as a batch system: `#SBATCH` lines, sbatch --parsable, one `squeue --me` for the
// run, scancel; its states say how a job ended.

import { EngineUnavailableError } from "../../core/errors.ts";
import type { Resources } from "../../core/resources.ts";
import { runCommand } from "../../core/process.ts";
import { findOnPath } from "../../core/which.ts";
import type {
  BatchOptions,
  BatchSystem,
  BatchValue,
  JobOptionParts,
  QueueEntry,
} from "../batch/system.ts";
import {
  markedComment,
  type ResolvedSlurmOptions,
  sbatchLines,
  slurmResources,
} from "./options.ts";
import { taskIds } from "./tasks.ts";

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

/** States of a job that waits (after a run: it was put back, and starts from the top). */
const WAITING = new Set(["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED"]);

/** States that mean Slurm stopped the job itself: its rc is -3 whatever it wrote. */
const LOST = new Set([
  "CANCELLED",
  "TIMEOUT",
  "OUT_OF_MEMORY",
  "NODE_FAIL",
  "PREEMPTED",
  "BOOT_FAIL",
  "DEADLINE",
  "REVOKED",
]);

/** A Slurm client's words for a controller that did not answer (a request may have gone in). */
const UNANSWERED =
  /unable to contact|timed out|did not answer|connection refused|zero bytes were transmitted|temporarily unavailable|communication|socket/i;

/** Slurm, through its programs. */
export class SlurmSystem implements BatchSystem {
  /** `Slurm`. */
  readonly label = "Slurm";
  /** `slurm`. */
  readonly key = "slurm";
  /** `job.sbatch`. */
  readonly scriptName = "job.sbatch";
  /** `$SLURM_ARRAY_TASK_ID`, from 0. */
  readonly task = { variable: "SLURM_ARRAY_TASK_ID", first: 0 };
  /** A requeued job starts again with `$SLURM_RESTART_COUNT` above 0. */
  readonly restarted = '[ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]';
  /** scancel and a time limit send SIGTERM. */
  readonly stopSignals = ["TERM", "INT", "HUP"];
  /** sbatch's options of every job. */
  readonly options: BatchOptions;
  /** See {@linkcode UNANSWERED}. */
  readonly unanswered = UNANSWERED;
  /** scancel's words for jobs that had ended already. */
  readonly cancelEnded = /invalid job id|already completing|completed/i;
  #programs: ResolvedSlurmOptions;

  /**
   * Slurm with these programs and options.
   *
   * @param options The checked options.
   */
  constructor(options: ResolvedSlurmOptions) {
    this.#programs = options;
    this.options = options.slurmOpts;
  }

  /** The sbatch program. */
  get sbatch(): string {
    return this.#programs.sbatch;
  }

  /** The squeue program. */
  get squeue(): string {
    return this.#programs.squeue;
  }

  /** See {@linkcode sbatchLines}. */
  optionLines(options: BatchOptions): string[] {
    return sbatchLines(options);
  }

  /** Its name, output, the user's options, the mark after the user's comment, its limits. */
  jobOptions(parts: JobOptionParts): Record<string, BatchValue> {
    return {
      "job-name": parts.name,
      output: parts.output,
      ...this.options,
      comment: markedComment(this.options.comment, parts.mark),
      ...slurmResources(parts.resources),
    };
  }

  /** `--array=0-<count - 1>%<forks>`. */
  arrayOptions(count: number, forks: number): Record<string, BatchValue> {
    return { array: `0-${count - 1}${Number.isFinite(forks) ? `%${forks}` : ""}` };
  }

  /** The sbatch options the limits give. */
  resourceKey(resources: Resources): string {
    return JSON.stringify(slurmResources(resources));
  }

  /** Slurm's refusals come at submission (sbatch checks the options it is given). */
  refusal(_resources: Resources): Promise<string | null> {
    return Promise.resolve(null);
  }

  /** `sbatch --parsable <script>`. */
  submitArgv(path: string): string[] {
    return [this.#programs.sbatch, "--parsable", path];
  }

  /** The id of `sbatch --parsable` (`12` or `12;cluster`). */
  submitted(stdout: string): string | null {
    const jid = stdout.trim().split(";")[0];
    return /^\d+$/.test(jid) ? jid : null;
  }

  /** `<id>_<i>`. */
  taskJid(id: string, i: number): string {
    return `${id}_${i}`;
  }

  /** The job whose comment holds the mark. */
  async submittedAs(mark: string, _name: string): Promise<string | null> {
    const out = await runCommand(
      [this.#programs.squeue, "-h", "--me", "-t", "all", "-o", "%F|%k"],
      { deadlineMs: 30_000 },
    );
    if (out.code !== 0) return null;
    for (const line of out.stdout.split("\n")) {
      const at = line.indexOf("|");
      if (at > 0 && line.slice(at + 1).trim().split(";").includes(mark)) {
        return line.slice(0, at).trim();
      }
    }
    return null;
  }

  /**
   * `squeue -h --me -t all -o %i|%j|%T`: array tasks that still wait are one line
   * (`12_[3-9%2]`), expanded here.
   */
  async list(): Promise<QueueEntry[] | { failed: string }> {
    const out = await runCommand(
      [this.#programs.squeue, "-h", "--me", "-t", "all", "-o", "%i|%j|%T"],
      { deadlineMs: 60_000 },
    );
    if (out.code !== 0) return { failed: `squeue failed: ${out.stderr.trim()}` };
    const jobs: QueueEntry[] = [];
    for (const line of out.stdout.split("\n")) {
      const [jid, name, state] = line.trim().split("|");
      if (!jid || !state || name === undefined) continue;
      for (const id of taskIds(jid)) jobs.push({ jid: id, name, state: state.replace(/\+$/, "") });
    }
    return jobs;
  }

  /** `scancel <ids>`. */
  cancelArgv(jids: readonly string[]): string[] {
    return [this.#programs.scancel, ...jids];
  }

  /** The programs are on PATH and the controller answers. */
  async ping(): Promise<void> {
    const p = this.#programs;
    for (const program of [p.sbatch, p.squeue, p.scancel]) {
      if (!findOnPath(program)) {
        throw new EngineUnavailableError(`Slurm's "${program}" is not on PATH`);
      }
    }
    const out = await runCommand([p.squeue, "-h", "-j", "1", "-o", "%i"], { deadlineMs: 30_000 });
    if (out.code !== 0 && !/invalid job id/i.test(out.stderr)) {
      throw new EngineUnavailableError(
        `The Slurm cluster does not answer: ${out.stderr.trim().split("\n").pop()}`,
      );
    }
  }

  /** See {@linkcode LIVE}. */
  isLive(state: string): boolean {
    return LIVE.has(state);
  }

  /** See {@linkcode RUNNING}. */
  isRunning(state: string): boolean {
    return RUNNING.has(state);
  }

  /** See {@linkcode WAITING}. */
  isWaiting(state: string): boolean {
    return WAITING.has(state);
  }

  /** See {@linkcode LOST}. */
  isLost(state: string): boolean {
    return LOST.has(state);
  }

  /** Slurm keeps no job in an error state: none is. */
  isError(_state: string): boolean {
    return false;
  }

  /** Never asked (no job is in error). */
  errorReason(_jid: string): Promise<string> {
    return Promise.resolve("");
  }

  /** Slurm's last state says it all: nothing more to ask. */
  verdict(_jid: string): Promise<string | null> {
    return Promise.resolve(null);
  }
}
