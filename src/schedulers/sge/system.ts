// Grid Engine (SGE, Son of Grid Engine, Univa/Altair GE) as a batch system: `#$` lines,
// qsub -terse, one `qstat -xml -u <user>` for the run, qdel, and qacct for jobs that left
// the queue without an rc.

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
import { qsubLines, type ResolvedSgeOptions, sgeResources } from "./options.ts";
import { errorReason, parseQacct, parseQstatXml, parseQsubTerse } from "./qstat.ts";

/** Words of Grid Engine's clients for a qmaster that did not answer. */
const UNANSWERED =
  /unable to contact qmaster|can't contact qmaster|commlib error|failed receiving gdi request|got no connection|timed out|connection refused/i;

/** How long qacct may not know a job that left the queue before it counts as never run. */
const UNACCOUNTED_MS = 15_000;

function asList(value: BatchValue | undefined): (string | number)[] {
  if (value === undefined || typeof value === "boolean") return [];
  return Array.isArray(value) ? [...value] : [value as string | number];
}

/** Grid Engine, through its programs. */
export class SgeSystem implements BatchSystem {
  /** `Grid Engine`. */
  readonly label = "Grid Engine";
  /** `sge`. */
  readonly key = "sge";
  /** `job.qsub`. */
  readonly scriptName = "job.qsub";
  /** `$SGE_TASK_ID`, from 1. */
  readonly task = { variable: "SGE_TASK_ID", first: 1 };
  /** A rescheduled job runs again with `$RESTARTED` set to 1. */
  readonly restarted = '[ "${RESTARTED:-0}" = 1 ]';
  /** qdel sends SIGUSR2 first to a job submitted with `-notify`, then SIGKILL. */
  readonly stopSignals = ["TERM", "INT", "HUP", "USR2"];
  /** qsub's options of every job. */
  readonly options: BatchOptions;
  /** See {@linkcode UNANSWERED}. */
  readonly unanswered = UNANSWERED;
  /** qdel's words for jobs that had ended. */
  readonly cancelEnded = /does not exist|not found/i;
  #programs: ResolvedSgeOptions;
  #user: string | null = null;
  #unaccounted = new Map<string, number>();

  /**
   * Grid Engine with these programs and options.
   *
   * @param options The checked options.
   */
  constructor(options: ResolvedSgeOptions) {
    this.#programs = options;
    this.options = options.sgeOpts;
  }

  /** See {@linkcode qsubLines}. */
  optionLines(options: BatchOptions): string[] {
    return qsubLines(options);
  }

  /**
   * A job's own options: its name, its output (and errors) file, bash, `-notify` so that a
   * qdel sends the script SIGUSR2 before SIGKILL (its trap stops the container), and its
   * limits; the user's `-l` lines come first.
   */
  jobOptions(parts: JobOptionParts): Record<string, BatchValue> {
    const limits = sgeResources(parts.resources, this.#programs);
    const l = [...asList(this.options.l), ...asList(limits.l)];
    return {
      N: parts.name,
      o: parts.output,
      j: "y",
      S: "/bin/bash",
      notify: true,
      ...this.options,
      ...limits,
      ...(l.length ? { l } : {}),
    };
  }

  /** `-t 1-<count> -tc <forks>`. */
  arrayOptions(count: number, forks: number): Record<string, BatchValue> {
    return { t: `1-${count}`, ...(Number.isFinite(forks) ? { tc: forks } : {}) };
  }

  /** The `-pe` and `-l` options the limits give. */
  resourceKey(resources: Resources): string {
    return JSON.stringify(sgeResources(resources, this.#programs));
  }

  /**
   * `qsub -w v` of the run's options and these limits (a job that runs `true`, verified,
   * never submitted): qsub's own words for a queue, parallel environment or resource the
   * cell lacks, or more slots than it has.
   */
  async refusal(resources: Resources): Promise<string | null> {
    const lines = this.optionLines({ ...this.options, ...sgeResources(resources, this.#programs) });
    const args = lines.flatMap((line) => line.slice(3).split(/\s+/));
    const out = await runCommand(
      [this.#programs.qsub, "-w", "v", ...args, "-b", "y", "/bin/true"],
      { deadlineMs: 60_000 },
    );
    if (out.code === 0) return null;
    const said = `${out.stdout}\n${out.stderr}`.split("\n").map((line) => line.trim())
      .filter((line) => line && line !== "Exiting.");
    if (said.some((line) => UNANSWERED.test(line))) return null;
    return said.join("; ") || `qsub -w v failed (${out.code})`;
  }

  /** `qsub -terse <script>`. */
  submitArgv(path: string): string[] {
    return [this.#programs.qsub, "-terse", path];
  }

  /** The id of `qsub -terse`. */
  submitted(stdout: string): string | null {
    return parseQsubTerse(stdout);
  }

  /** `<id>.<i + 1>`. */
  taskJid(id: string, i: number): string {
    return `${id}.${i + 1}`;
  }

  /** A live job of the submission's name (a job's name is its own in the run). */
  async submittedAs(_mark: string, name: string): Promise<string | null> {
    const jobs = await this.list();
    const found = Array.isArray(jobs) ? jobs.find((job) => job.name === name) : undefined;
    return found ? found.jid.split(".")[0] : null;
  }

  /** `qstat -xml -u <user>`: pending and running jobs, a task an entry. */
  async list(): Promise<QueueEntry[] | { failed: string }> {
    const user = await this.#whoami();
    const out = await runCommand([this.#programs.qstat, "-xml", "-u", user], {
      deadlineMs: 60_000,
    });
    if (out.code !== 0) return { failed: `qstat failed: ${out.stderr.trim()}` };
    return parseQstatXml(out.stdout);
  }

  /** `qdel <ids>` (a task as `12.3`). */
  cancelArgv(jids: readonly string[]): string[] {
    return [this.#programs.qdel, ...jids];
  }

  /** The programs are on PATH and the qmaster answers. */
  async ping(): Promise<void> {
    const p = this.#programs;
    for (const program of [p.qsub, p.qstat, p.qdel, p.qacct]) {
      if (!findOnPath(program)) {
        throw new EngineUnavailableError(`Grid Engine's "${program}" is not on PATH`);
      }
    }
    const out = await runCommand([p.qstat, "-xml", "-u", await this.#whoami()], {
      deadlineMs: 30_000,
    });
    if (out.code !== 0) {
      throw new EngineUnavailableError(
        `The Grid Engine cell does not answer: ${
          (out.stderr.trim() || out.stdout.trim()).split("\n").pop()
        }`,
      );
    }
  }

  /** Whatever qstat lists holds its place (it lists only pending and running jobs). */
  isLive(_state: string): boolean {
    return true;
  }

  /** `r`, `t`, `Rr`, and those being deleted or suspended while they ran. */
  isRunning(state: string): boolean {
    return /[rt]/.test(state) && !/[qE]/.test(state);
  }

  /** `qw`, `hqw`, `Rq`: waiting. */
  isWaiting(state: string): boolean {
    return /q/.test(state) && !/E/.test(state);
  }

  /** Grid Engine keeps no final state in qstat: none says lost. */
  isLost(_state: string): boolean {
    return false;
  }

  /** `Eqw` and the like: Grid Engine keeps the job until it is deleted. */
  isError(state: string): boolean {
    return state.includes("E");
  }

  /** The "error reason" of `qstat -j <id>`. */
  async errorReason(jid: string): Promise<string> {
    const out = await runCommand([this.#programs.qstat, "-j", jid.split(".")[0]], {
      deadlineMs: 30_000,
    });
    return out.code === 0 ? errorReason(out.stdout) : "";
  }

  /**
   * qacct's record: a job Grid Engine failed (`failed` not 0) or killed by a signal
   * (`exit_status` above 128) is lost; so is one qacct has not heard of for
   * {@linkcode UNACCOUNTED_MS} (deleted before it ran: it has no record, ever). `null` when
   * the job ended by itself, or may have (its record is a second or two late).
   */
  async verdict(jid: string): Promise<string | null> {
    const [id, task] = jid.split(".");
    const out = await runCommand([this.#programs.qacct, "-j", id], { deadlineMs: 30_000 });
    const record = out.code === 0
      ? parseQacct(out.stdout, task === undefined ? null : Number(task))
      : null;
    if (!record) {
      if (!/not found/i.test(out.stderr + out.stdout)) return null;
      const first = this.#unaccounted.get(jid) ?? Date.now();
      this.#unaccounted.set(jid, first);
      if (Date.now() - first < UNACCOUNTED_MS) return null;
      this.#unaccounted.delete(jid);
      return "Grid Engine has no record of it running (qacct): it was deleted before it ran";
    }
    this.#unaccounted.delete(jid);
    if (record.failed !== "0") return `Grid Engine says it failed: ${record.failed}`;
    if (record.exitStatus !== null && record.exitStatus > 128) {
      return `Grid Engine says its script was killed (exit_status ${record.exitStatus})`;
    }
    return null;
  }

  async #whoami(): Promise<string> {
    if (this.#user === null) {
      const out = await runCommand(["id", "-un"], { deadlineMs: 10_000 });
      this.#user = out.code === 0 && out.stdout.trim() ? out.stdout.trim() : "*";
    }
    return this.#user;
  }
}
