// Submitting batch scripts with sbatch: one a job, or one array for many jobs, a few sbatch
// calls at a time, each tried again while the controller does not answer, and never twice.

import { join } from "@std/path/posix";
import { writeJobFile } from "../core/job_files.ts";
import type { Job } from "../core/job.ts";
import { runCommand } from "../core/process.ts";
import type { SbatchValue } from "./slurm_options.ts";
import { callController } from "./slurm_controller.ts";

/** A job waiting for its Slurm job id. */
export interface PendingSubmission {
  /** The job (its batch script is written). */
  job: Job;
  /** Give it its id. */
  resolve: (jid: string) => void;
  /** Say why it could not be submitted. */
  reject: (e: unknown) => void;
}

/** What submitting needs. */
export interface SubmitContext {
  /** The sbatch program. */
  sbatch: string;
  /** The squeue program, to find a submission whose answer was lost. */
  squeue: string;
  /** sbatch calls at once. */
  batch: number;
  /** Where trouble is told. */
  warn: (message: string) => void;
}

/** Slurm's own limit on an array's size is 1001 tasks by default (MaxArraySize). */
const ARRAY_MAX = 1000;

/**
 * Submit a batch script. While the controller does not answer, sbatch is tried again with
 * growing pauses; before each new try the queue is asked for a job carrying the
 * submission's mark (its `--comment`), since a request that timed out may have gone in.
 *
 * @param argv The sbatch command.
 * @param mark The mark in the script's `--comment`.
 * @param context sbatch, squeue and where trouble is told.
 * @returns The job id (an array's id for an array).
 */
async function sbatch(argv: string[], mark: string, context: SubmitContext): Promise<string> {
  const out = await callController(argv, context.warn, () => submittedAs(mark, context.squeue));
  if ("found" in out) return out.found;
  const jid = out.stdout.trim().split(";")[0];
  if (out.code === 0 && /^\d+$/.test(jid)) return jid;
  throw new Error(`sbatch failed (${out.code}): ${out.stderr.trim() || out.stdout.trim()}`);
}

/**
 * A batch script's `comment` option: the user's comment, if any, then `;` and the mark.
 *
 * @param given The user's comment option (a list gives its last, as sbatch takes).
 * @param mark The submission's mark.
 * @returns The option's value.
 */
export function markedComment(given: SbatchValue | undefined, mark: string): string {
  const text = Array.isArray(given) ? given.at(-1) : given;
  return text === undefined || typeof text === "boolean" ? mark : `${text};${mark}`;
}

/** The id of the job whose comment holds a mark, if the queue has one. */
async function submittedAs(mark: string, squeue: string): Promise<string | null> {
  const out = await runCommand([squeue, "-h", "--me", "-t", "all", "-o", "%F|%k"], {
    deadlineMs: 30_000,
  });
  if (out.code !== 0) return null;
  for (const line of out.stdout.split("\n")) {
    const at = line.indexOf("|");
    if (at > 0 && line.slice(at + 1).trim().split(";").includes(mark)) {
      return line.slice(0, at).trim();
    }
  }
  return null;
}

function writeSubmission(job: Job, argv: readonly string[]): void {
  writeJobFile(job.submissionFile, argv.join("\n") + "\n");
}

/** Run tasks, `batch` at a time. */
async function inTurn<T>(items: readonly T[], batch: number, run: (item: T) => Promise<void>) {
  const queue = [...items];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await run(item);
  };
  await Promise.all(Array.from({ length: Math.min(batch, queue.length) }, worker));
}

/**
 * Submit each job alone, `batch` sbatch calls at a time.
 *
 * @param pending The jobs.
 * @param context sbatch, squeue and how many calls at once.
 * @param mark A job's submission mark.
 */
export async function submitOne(
  pending: readonly PendingSubmission[],
  context: SubmitContext,
  mark: (job: Job) => string,
): Promise<void> {
  await inTurn(pending, context.batch, async (item) => {
    const argv = [context.sbatch, "--parsable", join(item.job.metadir, "job.sbatch")];
    try {
      writeSubmission(item.job, argv);
      item.resolve(await sbatch(argv, mark(item.job), context));
    } catch (e) {
      item.reject(e);
    }
  });
}

/**
 * Submit jobs as arrays: the jobs whose `key`s (their resources) are the same share an
 * array (of at most 1000 tasks); task `i` of an array runs its `i`th job, whose id is
 * `<array>_<i>`. At most `batch` sbatch calls run at once.
 *
 * @param pending The jobs.
 * @param context sbatch, squeue, the jobs' keys, and the array script (with its mark).
 */
export async function submitArrays(
  pending: readonly PendingSubmission[],
  context: SubmitContext & {
    key: (job: Job) => string;
    script: (jobs: readonly Job[]) => { path: string; mark: string };
  },
): Promise<void> {
  const groups = new Map<string, PendingSubmission[]>();
  for (const item of pending) {
    const key = context.key(item.job);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  const arrays: PendingSubmission[][] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += ARRAY_MAX) arrays.push(group.slice(i, i + ARRAY_MAX));
  }
  await inTurn(arrays, context.batch, async (tasks) => {
    try {
      const { path, mark } = context.script(tasks.map((task) => task.job));
      const argv = [context.sbatch, "--parsable", path];
      for (const task of tasks) writeSubmission(task.job, argv);
      const arrayId = await sbatch(argv, mark, context);
      tasks.forEach((task, i) => task.resolve(`${arrayId}_${i}`));
    } catch (e) {
      for (const task of tasks) task.reject(e);
    }
  });
}
