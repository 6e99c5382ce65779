// The recheck of running jobs every `recheckInterval` seconds, as xqute's polling does.

import type { Job } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/**
 * Every `recheckInterval` seconds, poll the jobs (`pollingJobs(jobs, "allDone")`): the
 * running ones are asked of where they run, and one that vanished fails. A poll that is
 * still going when the next is due is not doubled.
 *
 * @param scheduler The scheduler.
 * @param jobs The run's jobs that have not ended, as they are at each recheck.
 * @param logger Where a failed poll is told.
 * @returns A function that stops the rechecks.
 */
export function startRechecks(
  scheduler: Scheduler,
  jobs: () => readonly Job[],
  logger: Logger,
): () => void {
  const seconds = scheduler.recheckInterval;
  if (!seconds) return () => {};
  let busy = false;
  const id = setInterval(() => {
    if (busy) return;
    busy = true;
    scheduler.pollingJobs(jobs(), "allDone")
      .catch((e) => logger.warn(`the recheck of running jobs failed: ${e}`))
      .finally(() => busy = false);
  }, seconds * 1000);
  Deno.unrefTimer(id);
  return () => clearInterval(id);
}
