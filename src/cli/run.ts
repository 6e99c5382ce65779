// `xqc run`: build the run from the request, feed it, print the summary, map it to an exit code.

import { ValidationError } from "../core/errors.ts";
import type { Logger } from "../core/logger.ts";
import type { RunSummary } from "../core/summary.ts";
import { SIGNAL_EXIT_CODES } from "../run/signals.ts";
import { Xqute } from "../run/xqute.ts";
import { BatchScheduler } from "../schedulers/batch/scheduler.ts";
import { formatDuration } from "./duration.ts";
import { HELP } from "./help.ts";
import type { Io } from "./io.ts";
import { type ProgressMode, type ProgressReporter, progressReporter } from "./progress.ts";
import { type RunRequest, runRequest } from "./run_request.ts";
import { checkJobsFit, xquteOptionsOf } from "./run_options.ts";
import type { JobSpec } from "./spec.ts";

/** Library errors about options are usage errors on the command line. */
function asUsageError(e: unknown): unknown {
  return e instanceof TypeError || e instanceof RangeError ? new ValidationError(e.message) : e;
}

function buildXqute(request: RunRequest, plugins: ProgressReporter[], io: Io): Xqute {
  const options = xquteOptionsOf(request.spec);
  checkJobsFit(request.spec, request.jobs);
  // Messages go where the command line writes; --quiet keeps only warnings.
  const logger: Logger = {
    info: (message) => request.quiet || io.err(`xqc: ${message}\n`),
    warn: (message) => io.err(`xqc: ${message}\n`),
  };
  try {
    return new Xqute({ ...options, resume: request.resume, plugins, logger });
  } catch (e) {
    throw asUsageError(e);
  }
}

function dryRun(xq: Xqute, jobs: JobSpec[], io: Io): number {
  const scheduler = xq.scheduler;
  for (const [index, job] of jobs.entries()) {
    const created = scheduler.createJob(index, job.cmd, job.envs);
    created.trial = 1;
    const names = Object.keys({ ...scheduler.envs, ...job.envs });
    io.out(
      `# job ${index}: ${created.cmdText}${names.length ? ` (envs: ${names.join(", ")})` : ""}\n${
        scheduler.describeSubmission(created)
      }\n`,
    );
  }
  return 0;
}

/**
 * The exit code of a run: 0 when every job succeeded, 1 when one failed or was killed,
 * 128 + the signal that stopped it.
 *
 * @param summary The run's summary.
 * @returns The code.
 */
export function exitCodeOf(summary: RunSummary): number {
  if (summary.signal) return SIGNAL_EXIT_CODES[summary.signal] ?? 1;
  return summary.failed || summary.killed ? 1 : 0;
}

/**
 * `xqc run`.
 *
 * @param args The arguments after `run`.
 * @param io Where output goes.
 * @returns The exit code.
 */
export async function commandRun(args: string[], io: Io): Promise<number> {
  const request = await runRequest(args);
  if (!request) {
    io.out(HELP.run + "\n");
    return 0;
  }
  const mode: ProgressMode = request.quiet ? "quiet" : io.errIsTerminal ? "live" : "lines";
  const color = io.errIsTerminal && !Deno.noColor;
  const progress = progressReporter(mode, color, io.err);
  const xq = buildXqute(request, request.dryRun ? [] : [progress], io);
  if (request.dryRun) return dryRun(xq, request.jobs, io);
  const feed = async (job: JobSpec) => {
    try {
      const { cmd, ...options } = job;
      await xq.feed(cmd, options);
    } catch (e) {
      throw asUsageError(e);
    }
  };
  // The first feed checks the engine and claims the workdir; then the run starts while the
  // rest are fed, so the first job does not wait for the ten-thousandth to be queued. A
  // cluster gets them all at once instead, so that they can go in arrays; and jobs with
  // their own images all come first, so that a pull that fails stops the run before any starts.
  const ownImages = request.jobs.some((job) => job.image !== undefined);
  const cluster = xq.scheduler instanceof BatchScheduler;
  const upFront = cluster || ownImages ? request.jobs.length : 1;
  for (const job of request.jobs.slice(0, upFront)) await feed(job);
  let summary: RunSummary;
  let unfed: { index: number; error: unknown } | null = null;
  try {
    await xq.runUntilComplete({ keepFeeding: true });
    for (const [at, job] of request.jobs.slice(upFront).entries()) {
      if (!xq.feeding) break; // interrupted while feeding
      try {
        await feed(job);
      } catch (error) {
        if (!xq.feeding) break; // interrupted while it waited for room in the queue
        // Jobs run already: the run stops as a stop signal stops it, and says so.
        unfed = { index: upFront + at, error };
        await xq.abort(`the run stopped: job ${unfed.index} could not be fed`);
        break;
      }
    }
    summary = await xq.stopFeeding();
  } finally {
    progress.finish();
  }
  if (request.json) io.out(JSON.stringify(summary) + "\n");
  if (!request.quiet) {
    io.err(
      `xqc: ${summary.total} job(s): ${summary.succeeded} succeeded, ${summary.failed} failed, ` +
        `${summary.killed} killed, ${summary.skipped} skipped in ${
          formatDuration(summary.durationMs)
        } (workdir ${summary.workdir})\n`,
    );
  }
  if (unfed) {
    const why = unfed.error instanceof Error ? unfed.error.message : String(unfed.error);
    io.err(
      `xqc: job ${unfed.index} could not be fed: ${why}; the run was stopped, ` +
        `${summary.killed} running job(s) killed, ${request.jobs.length - unfed.index} not fed\n`,
    );
    return 1;
  }
  return exitCodeOf(summary);
}
