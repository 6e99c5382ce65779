// A trial's end read from its metadir and settled there: what the job's files say, checked
// to be regular files, and what xqc writes back.

import { appendJobFile, UnsafeFileError } from "../core/job_files.ts";
import type { Job } from "../core/job.ts";
import { JobStatus } from "../core/status.ts";
import { readUsage } from "../core/usage.ts";
import {
  existsRegular,
  type TrialOutcome,
  trialOutcome,
  unsafeOutcome,
  writeQuietly,
} from "./outcome.ts";
import type { TrialEnd } from "./trial.ts";

/**
 * Read what a trial left (job.oom, job.usage, job.rc), decide its outcome and write it:
 * the note appended to job.stderr, job.rc and job.status rewritten when overruled. A file
 * the job replaced with a link, a FIFO or a folder fails the job with rc -3; its files are
 * then written anew, never through what it left.
 *
 * @param job The job (its `ranOutOfMemory` and `usage` are set).
 * @param end How the trial ended.
 * @returns The outcome.
 */
export async function settleTrial(job: Job, end: TrialEnd): Promise<TrialOutcome> {
  let outcome: TrialOutcome;
  try {
    // Only a wrapper given a memory limit writes job.oom.
    job.ranOutOfMemory = job.trialLimits.at(-1)?.memory !== undefined &&
      existsRegular(job.oomFile);
    job.usage = readUsage(job.usageFile, end.sampledPeak);
    for (const file of [job.stdoutFile, job.stderrFile, job.statusFile]) existsRegular(file);
    const killed = job.killed ? job.killReason ?? "the job was killed" : null;
    outcome = trialOutcome(await job.readRc(), end, killed);
    if (outcome.note) appendJobFile(job.stderrFile, outcome.note + "\n");
  } catch (e) {
    if (!(e instanceof UnsafeFileError)) throw e;
    outcome = unsafeOutcome(e);
    writeQuietly(job.stderrFile, outcome.note + "\n");
  }
  if (outcome.rewrite) {
    writeQuietly(job.rcFile, `${outcome.rc}\n`);
    writeQuietly(job.statusFile, `${JobStatus.FAILED}\n`);
  }
  return outcome;
}
