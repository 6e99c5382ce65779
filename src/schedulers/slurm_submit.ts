// Submitting batch scripts with sbatch: one a job, or one array for many jobs.

import { join } from "@std/path/posix";
import { writeJobFile } from "../core/job_files.ts";
import type { Job } from "../core/job.ts";
import { runCommand } from "../core/process.ts";

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
  /** sbatch's environment for a job (its variables, which the batch script inherits). */
  env: (job: Job) => Record<string, string>;
}

/** Slurm's own limit on an array's size is 1001 tasks by default (MaxArraySize). */
const ARRAY_MAX = 1000;

async function sbatch(
  argv: string[],
  env: Record<string, string>,
): Promise<string> {
  const out = await runCommand(argv, { env, deadlineMs: 60_000 });
  const jid = out.stdout.trim().split(";")[0];
  if (out.code !== 0 || !/^\d+$/.test(jid)) {
    throw new Error(`sbatch failed (${out.code}): ${out.stderr.trim() || out.stdout.trim()}`);
  }
  return jid;
}

function writeSubmission(job: Job, argv: readonly string[]): void {
  writeJobFile(job.submissionFile, argv.join("\n") + "\n");
}

/**
 * Submit each job alone, `batch` sbatch calls at a time.
 *
 * @param pending The jobs.
 * @param context sbatch and the jobs' environments.
 */
export async function submitOne(
  pending: readonly PendingSubmission[],
  context: SubmitContext & { batch: number },
): Promise<void> {
  const queue = [...pending];
  const worker = async () => {
    for (let item = queue.shift(); item; item = queue.shift()) {
      const argv = [context.sbatch, "--parsable", join(item.job.metadir, "job.sbatch")];
      try {
        writeSubmission(item.job, argv);
        item.resolve(await sbatch(argv, context.env(item.job)));
      } catch (e) {
        item.reject(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(context.batch, queue.length) }, worker));
}

/**
 * Submit jobs as arrays: the jobs whose environments and `key`s (their resources) are the
 * same share an array (of at most 1000 tasks); task `i` of an array runs its `i`th job,
 * whose id is `<array>_<i>`.
 *
 * @param pending The jobs.
 * @param context sbatch, the jobs' environments and keys, and the array script for some jobs.
 */
export async function submitArrays(
  pending: readonly PendingSubmission[],
  context: SubmitContext & {
    key: (job: Job) => string;
    script: (jobs: readonly Job[]) => { path: string };
  },
): Promise<void> {
  const groups = new Map<string, PendingSubmission[]>();
  for (const item of pending) {
    const key = JSON.stringify([
      Object.entries(context.env(item.job)).sort(),
      context.key(item.job),
    ]);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  const arrays: PendingSubmission[][] = [];
  for (const group of groups.values()) {
    for (let i = 0; i < group.length; i += ARRAY_MAX) arrays.push(group.slice(i, i + ARRAY_MAX));
  }
  await Promise.all(arrays.map(async (tasks) => {
    try {
      const { path } = context.script(tasks.map((task) => task.job));
      const argv = [context.sbatch, "--parsable", path];
      for (const task of tasks) writeSubmission(task.job, argv);
      const arrayId = await sbatch(argv, context.env(tasks[0].job));
      tasks.forEach((task, i) => task.resolve(`${arrayId}_${i}`));
    } catch (e) {
      for (const task of tasks) task.reject(e);
    }
  }));
}
