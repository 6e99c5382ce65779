// Calls to a batch system's controller (slurmctld, sge_qmaster) that may find it away
// (restarting, failing over, overloaded): tried again with growing pauses while it does not
// answer.

import { delay } from "@std/async/delay";
import type { CommandResult } from "../../core/process.ts";
import { runCommand } from "../../core/process.ts";

/** Pauses, in seconds, before each new try of a call the controller did not answer (32 s). */
export const CONTROLLER_RETRIES: readonly number[] = [2, 4, 8, 18];

/**
 * Run a client command; while the controller does not answer, run it again after each
 * pause of {@linkcode CONTROLLER_RETRIES}, saying so.
 *
 * @param argv The command.
 * @param unanswered The client's words for a controller that did not answer.
 * @param warn Where the new tries are told.
 * @param beforeRetry Asked before each new try: a value ends the tries with it (a request
 *   that timed out may have gone in).
 * @returns The last answer (or the last failure), or what `beforeRetry` found.
 */
export async function callController<T>(
  argv: readonly string[],
  unanswered: RegExp,
  warn: (message: string) => void,
  beforeRetry: () => Promise<T | null> = () => Promise.resolve(null),
): Promise<CommandResult | { found: T }> {
  for (let attempt = 0;; attempt++) {
    const out = await runCommand(argv, { deadlineMs: 60_000 });
    const said = (out.stderr.trim() || out.stdout.trim()).split("\n").pop() ?? "";
    if (out.code === 0 || !unanswered.test(said) || attempt === CONTROLLER_RETRIES.length) {
      return out;
    }
    const pause = CONTROLLER_RETRIES[attempt];
    warn(`${argv[0]} failed (${said}); trying again in ${pause} s`);
    await delay(pause * 1000);
    const found = await beforeRetry();
    if (found !== null) return { found };
  }
}
