// `xqc kill`: stop the run that owns a workdir, and whatever a crashed run of it left.

import { delay } from "@std/async/delay";
import { readState } from "../core/state_view.ts";
import { lockOwner } from "../core/workdir.ts";
import { reapWorkdir } from "../run/reap.ts";
import { existingWorkdir, parseFlags } from "./flags.ts";
import { HELP } from "./help.ts";
import type { Io } from "./io.ts";

/** How long `xqc kill` waits for the run to stop. */
const STOP_WAIT_MS = 120_000;

/**
 * `xqc kill`.
 *
 * @param args The arguments after `kill`.
 * @param io Where output goes.
 * @returns The exit code.
 */
export async function commandKill(args: string[], io: Io): Promise<number> {
  const flags = parseFlags(args, { string: ["workdir"], alias: { w: "workdir" } }, "kill");
  if (flags.help) {
    io.out(HELP.kill + "\n");
    return 0;
  }
  const workdir = await existingWorkdir(flags);
  const owner = await lockOwner(workdir);
  if (owner !== null) {
    Deno.kill(owner, "SIGTERM");
    const end = Date.now() + STOP_WAIT_MS;
    while ((await lockOwner(workdir)) !== null && Date.now() < end) await delay(100);
    if ((await lockOwner(workdir)) !== null) {
      io.err(`xqc: the run of process ${owner} did not stop within ${STOP_WAIT_MS / 1000} s\n`);
      return 1;
    }
    io.err(`xqc: stopped the run of process ${owner}\n`);
  }
  const state = await readState(workdir).catch(() => null);
  const removed = await reapWorkdir(workdir, state?.run ?? null);
  if (removed.length) {
    io.err(`xqc: stopped what was left running in ${workdir}: ${removed.join(", ")}\n`);
  }
  if (owner === null && !removed.length) io.err(`xqc: no run is alive in ${workdir}\n`);
  return 0;
}
