// Submitting job scripts: one a job, or one array for many jobs, a few submit calls at a
// time, each tried again while the controller does not answer, and never twice.

import { writeJobFile } from "../../core/job_files.ts";
import type { Job } from "../../core/job.ts";
import { callController } from "./controller.ts";
import type { BatchSystem } from "./system.ts";

/** A job waiting for its id. */
export interface PendingSubmission {
  /** The job (its script is written). */
  job: Job;
  /** Give it its id. */
  resolve: (jid: string) => void;
  /** Say why it could not be submitted. */
  reject: (e: unknown) => void;
}

/** What submitting needs. */
export interface SubmitContext {
  /** The batch system. */
  system: BatchSystem;
  /** Submit calls at once. */
  batch: number;
  /** Where trouble is told. */
  warn: (message: string) => void;
}

/** Slurm's own limit on an array's size is 1001 tasks by default (MaxArraySize). */
const ARRAY_MAX = 1000;

/**
 * Submit a job script. While the controller does not answer, the submit is tried again
 * with growing pauses; before each new try the queue is asked for the submission (by its
 * mark or its name), since a request that timed out may have gone in.
 *
 * @param path The script.
 * @param mark The submission's mark.
 * @param name Its job name.
 * @param context The system and where trouble is told.
 * @returns The job id (an array's id for an array).
 */
async function submitScript(
  path: string,
  mark: string,
  name: string,
  context: SubmitContext,
): Promise<string> {
  const { system } = context;
  const argv = system.submitArgv(path);
  const out = await callController(
    argv,
    system.unanswered,
    context.warn,
    () => system.submittedAs(mark, name),
  );
  if ("found" in out) return out.found;
  const jid = system.submitted(out.stdout);
  if (out.code === 0 && jid) return jid;
  throw new Error(
    `${argv[0]} failed (${out.code}): ${out.stderr.trim() || out.stdout.trim()}`,
  );
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
 * Submit each job alone, `batch` calls at a time.
 *
 * @param pending The jobs.
 * @param context The system and how many calls at once.
 * @param parts A job's script, mark and name.
 */
export async function submitOne(
  pending: readonly PendingSubmission[],
  context: SubmitContext,
  parts: (job: Job) => { path: string; mark: string; name: string },
): Promise<void> {
  await inTurn(pending, context.batch, async (item) => {
    const { path, mark, name } = parts(item.job);
    try {
      writeSubmission(item.job, context.system.submitArgv(path));
      item.resolve(await submitScript(path, mark, name, context));
    } catch (e) {
      item.reject(e);
    }
  });
}

/**
 * Submit jobs as arrays: the jobs whose `key`s (their resources) are the same share an
 * array (of at most 1000 tasks); task `i` of an array runs its `i`th job. At most `batch`
 * calls run at once.
 *
 * @param pending The jobs.
 * @param context The system, the jobs' keys, and the array script (with its mark and name).
 */
export async function submitArrays(
  pending: readonly PendingSubmission[],
  context: SubmitContext & {
    key: (job: Job) => string;
    script: (jobs: readonly Job[]) => { path: string; mark: string; name: string };
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
      const { path, mark, name } = context.script(tasks.map((task) => task.job));
      for (const task of tasks) writeSubmission(task.job, context.system.submitArgv(path));
      const arrayId = await submitScript(path, mark, name, context);
      tasks.forEach((task, i) => task.resolve(context.system.taskJid(arrayId, i)));
    } catch (e) {
      for (const task of tasks) task.reject(e);
    }
  });
}
