// The recheck: running jobs asked of where they run, so that a job whose container or
// process vanished without its client noticing ends (rc -3) instead of hanging.

import type { Job } from "../core/job.ts";
import type { Logger } from "../core/logger.ts";
import { errorText } from "./outcome.ts";
import type { Trial } from "./trial.ts";

/** What the recheck asks of its scheduler. */
export interface RecheckHost {
  /** The ids among running jobs' that still run, in as few calls as possible. */
  liveJids(jobs: readonly Job[]): Promise<Set<string>>;
  /** Whether one id still runs. */
  jidIsRunning(jid: string): Promise<boolean>;
  /** A job's live trial. */
  trialOf(job: Job): Trial | undefined;
  /** Where trouble is told. */
  logger: Logger;
  /** The sentence for `job.stderr` of a job found gone. */
  gone(jid: string): string;
}

/**
 * Ask where they run whether running jobs still run; a job that does not, asked once more
 * alone, has its trial abandoned. A listing that fails is no answer: nothing is abandoned
 * on it (the job may run on, and a retry would write into its metadir).
 *
 * @param running The running jobs.
 * @param host The scheduler.
 */
export async function recheckRunning(running: readonly Job[], host: RecheckHost): Promise<void> {
  if (!running.length) return;
  let alive: Set<string>;
  try {
    alive = await host.liveJids(running);
  } catch (e) {
    host.logger.warn(`the recheck could not list the running jobs: ${errorText(e)}`);
    return;
  }
  await Promise.all(running.map(async (job) => {
    const trial = host.trialOf(job);
    if (alive.has(job.jid) || !trial || trial.hasEnded) return;
    // Asked once more, alone: a job that just ended is not taken for a vanished one.
    const runs = await host.jidIsRunning(job.jid).catch(() => true);
    if (runs || trial.hasEnded) return;
    trial.abandon(host.gone(job.jid));
  }));
}
