// What a trial's end means: the rc and the words for job.stderr, as pure functions.

import { RC_REFUSED, RC_VANISHED } from "../core/status.ts";
import type { TrialEnd } from "./trial.ts";
import { basename } from "@std/path/posix";
import { describeFile, UnsafeFileError, writeJobFile } from "../core/job_files.ts";

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGTERM: 15,
};

/**
 * The rc of a killed job that wrote none: 128 + the signal that ended it.
 *
 * @param signal The signal, if one ended its process.
 * @returns The rc (137 when the signal is unknown).
 */
export function killedRc(signal: string | null): number {
  return 128 + (signal ? SIGNALS[signal] ?? 9 : 9);
}

/**
 * The rc of a job that wrote none and was not killed: refused (never ran) or vanished.
 *
 * @param sawRunning Whether its wrapper was seen running.
 * @returns {@linkcode RC_VANISHED} or {@linkcode RC_REFUSED}.
 */
export function lostRc(sawRunning: boolean): number {
  return sawRunning ? RC_VANISHED : RC_REFUSED;
}

/** What a trial's end means for its job. */
export interface TrialOutcome {
  /** The job's rc. */
  rc: number;
  /** Whether `job.rc` and `job.status` must be written (the wrapper's are missing or overruled). */
  rewrite: boolean;
  /** A line for `job.stderr`, if any. */
  note: string | null;
  /** The hook to call. */
  hook: "onJobKilled" | "onJobSucceeded" | "onJobFailed";
}

/**
 * What a trial's end means: a killed job keeps the rc its wrapper wrote, or 128 + the
 * signal; a job where it ran says was lost gets -3 whatever it wrote; a job without an rc
 * gets -3 (it ran) or -2 (it never started); otherwise the wrapper's rc stands.
 *
 * @param written The rc the wrapper wrote, or `null`.
 * @param end How the trial ended.
 * @param killReason Why the job was killed, or `null` when it was not.
 * @returns The outcome.
 * @example
 * ```ts
 * import { trialOutcome } from "./outcome.ts";
 * import { assertEquals } from "@std/assert";
 * const end = { sawRunning: true, signal: null, why: "xqc: Slurm ended the job 7: TIMEOUT", lost: true };
 * assertEquals(trialOutcome(143, end, null).rc, -3);
 * assertEquals(trialOutcome(null, { ...end, lost: false }, "asked").rc, 137);
 * ```
 */
export function trialOutcome(
  written: number | null,
  end: TrialEnd,
  killReason: string | null,
): TrialOutcome {
  if (killReason !== null) {
    return {
      rc: written ?? killedRc(end.signal),
      rewrite: true,
      note: `xqc: ${killReason}`,
      hook: "onJobKilled",
    };
  }
  if (end.lost) {
    const own = written === null ? "" : ` (the job's own rc was ${written})`;
    return { rc: RC_VANISHED, rewrite: true, note: end.why + own, hook: "onJobFailed" };
  }
  if (written === null) {
    return { rc: lostRc(end.sawRunning), rewrite: true, note: end.why, hook: "onJobFailed" };
  }
  return {
    rc: written,
    rewrite: false,
    note: null,
    hook: written === 0 ? "onJobSucceeded" : "onJobFailed",
  };
}

/**
 * The outcome of a trial whose files were not all regular files: lost (rc -3), saying what
 * was found.
 *
 * @param error What was refused.
 * @returns The outcome.
 */
export function unsafeOutcome(error: UnsafeFileError): TrialOutcome {
  return {
    rc: RC_VANISHED,
    rewrite: true,
    note: `xqc: ${basename(error.path)} is ${error.found}, not a regular file: ` +
      `the job's files were not read or written through it (rc ${RC_VANISHED})`,
    hook: "onJobFailed",
  };
}

/**
 * Explain why a job's process ended without an rc.
 *
 * @param status How the process exited.
 * @param output What it printed besides the job's files (the engine's last words).
 * @param sawRunning Whether the wrapper was seen running.
 * @returns A sentence for `job.stderr`.
 */
export function explainProcessEnd(
  status: { code: number; signal: string | null },
  output: string,
  sawRunning: boolean,
): string {
  let how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
  if (status.code === 137 || status.signal === "SIGKILL") {
    how += ": killed by SIGKILL, out of memory or killed from outside";
  }
  const said = output.trim();
  return sawRunning
    ? `xqc: the job's process ended (${how}) before the job wrote its rc` +
      (said ? `: ${said}` : "")
    : `xqc: the job did not start (${how})` + (said ? `: ${said}` : "");
}

/**
 * An error as a sentence.
 *
 * @param e What was thrown.
 * @returns Its message.
 */
export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Write a job file anew, quietly: the metadir may be gone (a removed workdir), and the Kv
 * record still says it. Whatever the job left at the path is replaced, never written
 * through.
 *
 * @param path The file.
 * @param text Its text.
 */
export function writeQuietly(path: string, text: string): void {
  try {
    writeJobFile(path, text);
  } catch {
    // The metadir may be gone (a removed workdir); the Kv record still says it.
  }
}

/**
 * Whether a job file is there, as a regular file.
 *
 * @param path The file.
 * @returns `true` when it exists.
 * @throws {UnsafeFileError} When something else is there.
 */
export function existsRegular(path: string): boolean {
  const kind = describeFile(path);
  if (kind === "gone") return false;
  if (kind === "a regular file") return true;
  throw new UnsafeFileError(path, kind);
}
