// One trial of a job on a batch system, as the queue tells it.

import { describeFile, readJobBytes, readJobFile } from "../../core/job_files.ts";
import { delay } from "@std/async/delay";
import { join } from "@std/path/posix";
import type { Job } from "../../core/job.ts";
import { RUNNING_MARKER } from "../../core/wrapper.ts";
import type { BatchQueue } from "./queue.ts";
import type { BatchSystem } from "./system.ts";
import type { Trial, TrialEnd } from "../trial.ts";

/** What a trial tells its scheduler besides its start and end, and how long it waits. */
export interface BatchTrialContext {
  /** The batch system. */
  system: BatchSystem;
  /** The queue that watches it. */
  queue: BatchQueue;
  /** Milliseconds to wait for `job.rc` to show after the system says the job ended. */
  exitReadMs: number;
  /** The system put the job back to wait (a node failed): it starts again from the top. */
  requeued(state: string): void;
  /** A requeued job runs again. */
  runsAgain(): void;
}

/**
 * A job's trial on a batch system, told by the queue: RUNNING when the system runs its
 * script, over when the job leaves the queue. The job is lost (rc -3, said in `job.stderr`)
 * when the system stopped it itself: a state that says so (Slurm's TIMEOUT, CANCELLED,
 * NODE_FAIL), a signal its script trapped (a qdel from outside), an error state it would
 * be kept in (Grid Engine's `Eqw`: it is deleted), or the accounting's word for a job that
 * left without an rc. A requeued job goes back to waiting and starts again. A job that
 * ended by itself wrote `job.rc`, which a shared filesystem may show late: it is waited
 * for, up to the exit-read timeout.
 *
 * @param job The job.
 * @param jid Its job id.
 * @param context The queue, the exit-read timeout and who hears of requeues.
 * @returns The trial.
 */
export function batchTrial(job: Job, jid: string, context: BatchTrialContext): Trial {
  const { queue, system } = context;
  const label = system.label;
  let errorWhy: string | null = null;
  let running = () => {};
  let end: (end: TrialEnd) => void = () => {};
  let hasEnded = false;
  let sawRunning = false;
  const trial: Trial = {
    jid,
    running: new Promise<void>((resolve) => running = resolve),
    ended: new Promise<TrialEnd>((resolve) => end = resolve),
    get hasEnded() {
      return hasEnded;
    },
    abandon: (why: string) => {
      queue.unwatch(jid);
      queue.cancel([jid]).catch(() => {});
      hasEnded = true;
      end({ sawRunning, signal: null, why });
    },
  };
  queue.watch(jid, {
    running: () => {
      if (sawRunning) context.runsAgain();
      sawRunning = true;
      running();
    },
    requeued: (state) => context.requeued(state),
    error: async (state) => {
      // The system would keep it so until deleted: deleted, it ends lost.
      const reason = await system.errorReason(jid).catch(() => "");
      errorWhy = `xqc: ${label} put the job ${jid} in state ${state}${reason ? `: ${reason}` : ""}`;
      queue.cancel([jid]).catch(() => {});
    },
    ended: async (state) => {
      let why = errorWhy ??
        (state
          ? `xqc: ${label} ended the job ${jid}: ${state}`
          : `xqc: the ${label} job ${jid} left the queue without a state`);
      let lost = errorWhy !== null || (state !== null && system.isLost(state));
      const signal = lost ? null : stoppedBy(job);
      if (signal) {
        lost = true;
        why =
          `xqc: ${label} stopped the job ${jid} (its script got SIG${signal}: deleted or cancelled from outside)`;
      }
      // A script that ended by itself wrote its rc: on a shared filesystem it may show late.
      // A job gone from the queue without a state may have too.
      if (!lost) {
        const waited = await waitForRc(job, context.exitReadMs, () => system.verdict(jid));
        if (waited !== true) {
          lost = waited !== false;
          why += waited === false
            ? `; its job.rc did not show within the exit-read timeout (${
              context.exitReadMs / 1000
            } s)`
            : `; ${waited}`;
        }
      }
      const said = lastLines(join(job.metadir, `${system.scriptName}.out`));
      hasEnded = true;
      end({
        sawRunning: sawRunning || wrapperRan(job),
        signal: null,
        lost,
        why: why + (said ? `; its job script said: ${said}` : ""),
      });
    },
  });
  return trial;
}

/**
 * Wait until a job's rc file shows, looking again at growing pauses (0.1 s to 2 s), up to
 * a limit; a job killed meanwhile stops the wait, and so does the system's verdict that
 * the job is lost (asked at each pause of 2 s).
 *
 * @returns `true` when it showed, `false` when it did not in time, or the verdict.
 */
async function waitForRc(
  job: Job,
  ms: number,
  verdict: () => Promise<string | null>,
): Promise<boolean | string> {
  const end = Date.now() + ms;
  for (let pause = 100;; pause = Math.min(pause * 2, 2000)) {
    if (describeFile(job.rcFile) !== "gone") return true;
    if (job.killed || Date.now() >= end) return false;
    if (pause === 2000) {
      const lost = await verdict().catch(() => null);
      if (lost) return lost;
    }
    await delay(Math.min(pause, Math.max(0, end - Date.now())));
  }
}

/** The signal a job's script trapped (`job.stopped`), if it got one. */
function stoppedBy(job: Job): string | null {
  try {
    const text = (readJobFile(job.stoppedFile, 64) ?? "").trim();
    return /^[A-Z0-9]+$/.test(text) ? text : null;
  } catch {
    return null;
  }
}

// The job's files are read without following links (job_files.ts); a refused one is
// taken as missing here, and refused again where the trial's end is read.
function wrapperRan(job: Job): boolean {
  try {
    return (readJobFile(job.statusFile, 64) ?? "").trim() !== "";
  } catch {
    return false;
  }
}

function lastLines(path: string): string {
  let text = "";
  try {
    text = new TextDecoder().decode(readJobBytes(path, -4096, 4096) ?? new Uint8Array());
  } catch {
    // As above.
  }
  return text.trim().split("\n").filter((line) => line && line !== RUNNING_MARKER).slice(-3)
    .join(" | ");
}
