// What a trial's end means: the rc and the words for job.stderr, as pure functions.

import { RC_REFUSED, RC_VANISHED } from "../core/status.ts";

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
 * Write a job file, quietly: the metadir may be gone (a removed workdir), and the Kv
 * record still says it.
 *
 * @param path The file.
 * @param text Its text.
 */
export function writeQuietly(path: string, text: string): void {
  try {
    Deno.writeTextFileSync(path, text);
  } catch {
    // The metadir may be gone (a removed workdir); the Kv record still says it.
  }
}

/**
 * Append to a job file, quietly (as {@linkcode writeQuietly}).
 *
 * @param path The file.
 * @param text The text.
 */
export function appendQuietly(path: string, text: string): void {
  try {
    Deno.writeTextFileSync(path, text, { append: true });
  } catch {
    // As above.
  }
}
