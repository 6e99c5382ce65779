// Progress of a run on stderr: one live line on a terminal, a plain line per finished job
// otherwise, nothing but errors when quiet.

import { printable } from "../core/printable.ts";
import { bold, red } from "@std/fmt/colors";
import type { Job } from "../core/job.ts";
import type { Plugin } from "../run/plugin.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";
import { formatDuration } from "./duration.ts";

/** How progress is shown. */
export type ProgressMode = "live" | "lines" | "quiet";

/** A plugin that reports progress, and stops its display with `finish()`. */
export interface ProgressReporter extends Plugin {
  /** Clear the live line and stop its timer. */
  finish(): void;
}

/** How much of a command a progress line shows. */
const CMD_SHOWN = 200;

/**
 * A command as one line, shortened for a progress line.
 *
 * @param text The command.
 * @returns At most {@linkcode CMD_SHOWN} characters.
 */
export function shortCommand(text: string): string {
  const shown = text.length > CMD_SHOWN
    ? `${text.slice(0, CMD_SHOWN)}… (${text.length} chars)`
    : text;
  return printable(shown);
}

/**
 * Make the progress plugin of `xqc run`.
 *
 * @param mode `live` (a terminal), `lines` or `quiet`.
 * @param color Whether to colour the live line (std's colours also honour NO_COLOR).
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
  const paint = (style: (text: string) => string, text: string) => color ? style(text) : text;
  const line = () => {
    const elapsed = performance.now() - started;
    const eta = done && done < total
      ? ` ETA ${formatDuration(elapsed / done * (total - done))}`
      : "";
    const failures = failed ? paint(red, `${failed} failed`) : "0 failed";
    write(
      `\r\x1b[2K${paint(bold, "xqc")} ${done}/${total} done, ${running} running, ${failures}, ` +
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
      write(
        `xqc: job ${job.index} ${what} rc ${job.rc}${took}${retry}: ${shortCommand(job.cmdText)}\n`,
      );
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
