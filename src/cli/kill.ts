// `xqc kill`: stop the run that owns a workdir, and whatever a crashed run of it left. A run
// of another host is never signalled from here: its pid means nothing on this host.

import { delay } from "@std/async/delay";
import { markRunStopped, readRunRecord } from "../core/state_view.ts";
import { liveRunElsewhere, lockOwner, onAnotherHost, type RunHolder } from "../core/workdir.ts";
import { clusterOf, reapWorkdir } from "../run/reap.ts";
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
  const flags = parseFlags(
    args,
    { string: ["workdir"], boolean: ["force"], alias: { w: "workdir" } },
    "kill",
  );
  if (flags.help) {
    io.out(HELP.kill + "\n");
    return 0;
  }
  const workdir = await existingWorkdir(flags);
  const holder = await lockOwner(workdir);
  // The lock of a shared filesystem may hold only on its own host: the record says too.
  const elsewhere = holder && onAnotherHost(holder) ? holder : await liveRunElsewhere(workdir);
  if (elsewhere) return await stopElsewhere(workdir, elsewhere, flags.force === true, io);
  if (holder !== null) {
    Deno.kill(holder.pid, "SIGTERM");
    const end = Date.now() + STOP_WAIT_MS;
    while ((await lockOwner(workdir)) !== null && Date.now() < end) await delay(100);
    if ((await lockOwner(workdir)) !== null) {
      io.err(
        `xqc: the run of process ${holder.pid} did not stop within ${STOP_WAIT_MS / 1000} s\n`,
      );
      return 1;
    }
    io.err(`xqc: stopped the run of process ${holder.pid}\n`);
  }
  const removed = await reapWorkdir(workdir, await readRunRecord(workdir).catch(() => null));
  if (removed.length) {
    io.err(`xqc: stopped what was left running in ${workdir}: ${removed.join(", ")}\n`);
  }
  if (holder === null && !removed.length) io.err(`xqc: no run is alive in ${workdir}\n`);
  return 0;
}

/**
 * A run of another host: exit 2 naming it; with `--force`, a cluster run's jobs (Slurm, Grid
 * Engine) are cancelled by their names from here (their job scripts stop their containers)
 * and the run is recorded as stopped.
 */
async function stopElsewhere(
  workdir: string,
  run: RunHolder,
  force: boolean,
  io: Io,
): Promise<number> {
  const where = `process ${run.pid} on host ${run.host}`;
  const record = await readRunRecord(workdir).catch(() => null);
  const system = clusterOf(record)?.label ?? null;
  if (!force || !system) {
    io.err(
      `xqc: the run of ${workdir} is the run of ${where}; stop it there` +
        (system
          ? `, or cancel its ${system} jobs from here with: xqc kill --force -w ${workdir}\n`
          : "\n"),
    );
    return 2;
  }
  const removed = await reapWorkdir(workdir, record, { clusterOnly: true });
  await markRunStopped(workdir, "xqc kill --force");
  io.err(
    `xqc: cancelled the ${system} jobs of the run of ${where}` +
      (removed.length ? `: ${removed.join(", ")}\n` : " (none was left)\n"),
  );
  return 0;
}
