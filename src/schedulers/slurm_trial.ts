// One trial of a job on Slurm, as the queue tells it.

import { describeFile, readJobBytes, readJobFile } from "../core/job_files.ts";
import { delay } from "@std/async/delay";
import { join } from "@std/path/posix";
import type { Job } from "../core/job.ts";
import { RUNNING_MARKER } from "../core/wrapper.ts";
import type { SlurmQueue } from "./slurm_queue.ts";
import type { Trial, TrialEnd } from "./trial.ts";

/** States that mean Slurm stopped the job itself: its rc is -3 whatever it wrote. */
const LOST_STATES = new Set([
  "CANCELLED",
  "TIMEOUT",
  "OUT_OF_MEMORY",
  "NODE_FAIL",
  "PREEMPTED",
  "BOOT_FAIL",
  "DEADLINE",
  "REVOKED",
]);

/** What a trial tells its scheduler besides its start and end, and how long it waits. */
export interface SlurmTrialContext {
  /** The queue that watches it. */
  queue: SlurmQueue;
  /** Milliseconds to wait for `job.rc` to show after Slurm says the job ended. */
  exitReadMs: number;
  /** Slurm put the job back to wait (a node failed): it starts again from the top. */
  requeued(state: string): void;
  /** A requeued job runs again. */
  runsAgain(): void;
}

/**
 * A job's trial on Slurm, told by the queue: RUNNING when Slurm runs its script, over when
 * the job leaves the queue. A state in which Slurm stopped the job itself (a time limit, a
 * cancel from outside, a node failure) makes the job lost (rc -3), named in `job.stderr`.
 * A job Slurm requeued goes back to waiting and starts again. A job that ended by itself
 * wrote `job.rc`, which a shared filesystem may show late: it is waited for, up to the
 * exit-read timeout.
 *
 * @param job The job.
 * @param jid Its Slurm job id.
 * @param context The queue, the exit-read timeout and who hears of requeues.
 * @returns The trial.
 */
export function slurmTrial(job: Job, jid: string, context: SlurmTrialContext): Trial {
  const { queue } = context;
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
    ended: async (state) => {
      const lost = state !== null && LOST_STATES.has(state);
      // A script that ended by itself wrote its rc: on a shared filesystem it may show late.
      // A job gone from the queue without a state may have too.
      let late = "";
      if (!lost && !await waitForRc(job, context.exitReadMs)) {
        late = `; its job.rc did not show within the exit-read timeout (${
          context.exitReadMs / 1000
        } s)`;
      }
      const said = lastLines(join(job.metadir, "job.sbatch.out"));
      hasEnded = true;
      end({
        sawRunning: sawRunning || wrapperRan(job),
        signal: null,
        lost,
        why: (state
          ? `xqc: Slurm ended the job ${jid}: ${state}`
          : `xqc: the Slurm job ${jid} left the queue without a state`) +
          late +
          (said ? `; its batch script said: ${said}` : ""),
      });
    },
  });
  return trial;
}

/**
 * Wait until a job's rc file shows, looking again at growing pauses (0.1 s to 2 s), up to
 * a limit; a job killed meanwhile stops the wait.
 */
async function waitForRc(job: Job, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (let pause = 100;; pause = Math.min(pause * 2, 2000)) {
    if (describeFile(job.rcFile) !== "gone") return true;
    if (job.killed || Date.now() >= end) return false;
    await delay(Math.min(pause, Math.max(0, end - Date.now())));
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
