// Progress of a run on stderr: one live line on a terminal, a plain line per finished job
// otherwise, nothing but errors when quiet.

import type { Job } from "./job.ts";
import type { Plugin } from "./plugin.ts";
import type { Scheduler } from "./scheduler.ts";

/** How progress is shown. */
export type ProgressMode = "live" | "lines" | "quiet";

/** A plugin that reports progress, and stops its display with `finish()`. */
export interface ProgressReporter extends Plugin {
  /** Clear the live line and stop its timer. */
  finish(): void;
}

/**
 * Format a duration for people.
 *
 * @param ms Milliseconds.
 * @returns `"1.2s"`, `"3m04s"` or `"1h02m"`.
 */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/**
 * Make the progress plugin of `xqc run`.
 *
 * @param mode `live` (a terminal), `lines` or `quiet`.
 * @param color Whether to colour the live line (off with NO_COLOR).
 * @param write Where text goes (stderr).
 * @returns The plugin.
 */
export function progressReporter(
  mode: ProgressMode,
  color: boolean,
  write: (text: string) => void,
): ProgressReporter {
  const started = performance.now();
  let total = 0;
  let running = 0;
  let done = 0;
  let failed = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const paint = (code: string, text: string) => color ? `\x1b[${code}m${text}\x1b[0m` : text;
  const line = () => {
    const elapsed = performance.now() - started;
    const eta = done && done < total
      ? ` ETA ${formatDuration(elapsed / done * (total - done))}`
      : "";
    const failures = failed ? paint("31", `${failed} failed`) : "0 failed";
    write(
      `\r\x1b[2K${paint("1", "xqc")} ${done}/${total} done, ${running} running, ${failures}, ` +
        `${formatDuration(elapsed)} elapsed${eta}`,
    );
  };
  const ended = (job: Job, what: string, retrying: boolean) => {
    running = Math.max(0, running - 1);
    if (!retrying) {
      done++;
      if (what !== "FINISHED") failed++;
    }
    if (mode === "lines") {
      const took = job.startedAt && job.endedAt
        ? ` in ${formatDuration(job.endedAt - job.startedAt)}`
        : "";
      const retry = retrying ? `, trial ${job.trial}, retrying` : "";
      write(`xqc: job ${job.index} ${what} rc ${job.rc}${took}${retry}: ${job.cmdText}\n`);
    } else if (mode === "live") line();
  };
  return {
    name: "progress",
    onInit() {
      if (mode === "live") {
        const id = setInterval(line, 1000);
        Deno.unrefTimer(id);
        timer = id;
      }
    },
    onJobQueued() {
      total++;
      if (mode === "live") line();
    },
    onJobStarted() {
      running++;
      if (mode === "live") line();
    },
    onJobSucceeded(_s: Scheduler, job: Job) {
      ended(job, "FINISHED", false);
    },
    onJobFailed(scheduler: Scheduler, job: Job) {
      ended(job, "FAILED", scheduler.shouldRetry(job));
    },
    onJobKilled(_s: Scheduler, job: Job) {
      ended(job, "KILLED", false);
    },
    finish() {
      if (timer !== undefined) clearInterval(timer);
      if (mode === "live") write("\r\x1b[2K");
    },
  };
}
