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

/**
 * A job's trial on Slurm, told by the queue: RUNNING when Slurm runs its script, over when
 * the job leaves the queue. A state in which Slurm stopped the job itself (a time limit, a
 * cancel from outside, a node failure) makes the job lost (rc -3), named in `job.stderr`.
 *
 * @param job The job.
 * @param jid Its Slurm job id.
 * @param queue The queue that watches it.
 * @returns The trial.
 */
export function slurmTrial(job: Job, jid: string, queue: SlurmQueue): Trial {
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
      sawRunning = true;
      running();
    },
    ended: async (state) => {
      const lost = state !== null && LOST_STATES.has(state);
      // A script that ended by itself wrote its rc: on a shared filesystem it may show late.
      if (!lost && state !== null) await waitForFile(job.rcFile, 3000);
      const said = lastLines(join(job.metadir, "job.sbatch.out"));
      hasEnded = true;
      end({
        sawRunning: sawRunning || wrapperRan(job),
        signal: null,
        lost,
        why: (state
          ? `xqc: Slurm ended the job ${jid}: ${state}`
          : `xqc: the Slurm job ${jid} left the queue without an rc`) +
          (said ? `; its batch script said: ${said}` : ""),
      });
    },
  });
  return trial;
}

async function waitForFile(path: string, ms: number): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await delay(100)) {
    if (describeFile(path) !== "gone") return;
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
