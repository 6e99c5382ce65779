// What a batch system is to the batch scheduler: how a job script gives its options, how it
// is submitted (alone or as an array), how the run's jobs are listed, cancelled and read.
// Slurm and Grid Engine are two of these (../slurm/system.ts, ../sge/system.ts); each
// difference between them is there, never here.

import type { Resources } from "../../core/resources.ts";

/** A value of a batch option: a value, a bare flag (`true`), or a list (the flag repeated). */
export type BatchValue = string | number | boolean | readonly (string | number)[];

/** Batch options by name, as a job script's option lines give them. */
export type BatchOptions = Readonly<Record<string, BatchValue>>;

/** One job (or array task) in the batch system's queue. */
export interface QueueEntry {
  /** Its id (`12`, or a task's id: Slurm `12_3`, Grid Engine `12.3`). */
  jid: string;
  /** Its name. */
  name: string;
  /** Its state, in the system's own words. */
  state: string;
}

/** What a job's own options are made of (its name, where its script's output goes, …). */
export interface JobOptionParts {
  /** The job's name. */
  name: string;
  /** The file its script's output goes to. */
  output: string;
  /** The submission's mark, which finds it again when the answer to a submit was lost. */
  mark: string;
  /** Its trial's limits. */
  resources: Resources;
}

/** A batch system: Slurm, Grid Engine, … */
export interface BatchSystem {
  /** Its name in messages: `Slurm`, `Grid Engine`. */
  readonly label: string;
  /** Its short name: `slurm`, `sge` (a leftover is said as `slurm job 12`). */
  readonly key: string;
  /** The job script's name in a metadir (`job.sbatch`, `job.qsub`); its output is `<name>.out`. */
  readonly scriptName: string;
  /** The variable that holds an array task's number, and the first task's number. */
  readonly task: { variable: string; first: number };
  /** Bash that is true when the system starts a job again (a requeue after a node failed). */
  readonly restarted: string;
  /** The signals the system sends a job it stops, which the script traps. */
  readonly stopSignals: readonly string[];
  /** Its own options, with its own checks (`slurmOpts`, `sgeOpts`). */
  readonly options: BatchOptions;
  /** Words of its clients for a controller that did not answer (a request may have gone in). */
  readonly unanswered: RegExp;
  /** Words of its cancel for jobs that had ended already. */
  readonly cancelEnded: RegExp;

  /** The option lines of a job script. */
  optionLines(options: BatchOptions): string[];
  /** A job's own options: its name, its output, its mark, its limits (after the run's). */
  jobOptions(parts: JobOptionParts): Record<string, BatchValue>;
  /** An array's own options: `count` tasks, at most `forks` at once. */
  arrayOptions(count: number, forks: number): Record<string, BatchValue>;
  /** The key of a job's limits: jobs with equal keys may share an array. */
  resourceKey(resources: Resources): string;
  /**
   * Why the system would refuse a job of these limits with the run's options (a queue or
   * parallel environment it lacks), asked before anything is submitted; `null` when it
   * would take it, or when the system cannot tell.
   */
  refusal(resources: Resources): Promise<string | null>;
  /** The command that submits a script. */
  submitArgv(path: string): string[];
  /** The id a submit printed (an array's id for an array), or `null`. */
  submitted(stdout: string): string | null;
  /** The id of task `i` (from 0) of array `id`. */
  taskJid(id: string, i: number): string;
  /** The id of a submission by its mark (or its name), when the queue holds one. */
  submittedAs(mark: string, name: string): Promise<string | null>;
  /** Every job of this user in the queue, or what the client said when it failed. */
  list(): Promise<QueueEntry[] | { failed: string }>;
  /** The command that cancels jobs. */
  cancelArgv(jids: readonly string[]): string[];
  /** Check that the programs are here and the system answers (EngineUnavailableError). */
  ping(): Promise<void>;
  /** The job holds its place in the queue (it waits, runs, or may run again). */
  isLive(state: string): boolean;
  /** The job's script runs. */
  isRunning(state: string): boolean;
  /** The job waits (after a run: it was put back, and starts again from the top). */
  isWaiting(state: string): boolean;
  /** The system stopped the job itself: it is lost whatever it wrote. */
  isLost(state: string): boolean;
  /** The job is stuck in an error the system keeps it in (Grid Engine's `Eqw`). */
  isError(state: string): boolean;
  /** Why a job is in error, in the system's words (asked once, when it is seen so). */
  errorReason(jid: string): Promise<string>;
  /**
   * What the system says of a job that left the queue without an rc file (yet): why it is
   * lost, or `null` when it ended by itself as far as the system knows (its rc may be late).
   */
  verdict(jid: string): Promise<string | null>;
}
