// `xqc status`: a run and its jobs, read from the workdir's state, also while it runs.

import { printable } from "../core/printable.ts";
import { delay } from "@std/async/delay";
import { ValidationError } from "../core/errors.ts";
import type { JobRecord, RunRecord } from "../core/state.ts";
import { readState } from "../core/state_view.ts";
import { lockOwner } from "../core/workdir.ts";
import { format as formatBytes } from "@std/fmt/bytes";
import { formatDuration } from "./duration.ts";
import { existingWorkdir, parseFlags } from "./flags.ts";
import { HELP } from "./help.ts";
import type { Io } from "./io.ts";

/** What `xqc status` shows: the run (with whether its process lives) and its jobs. */
export interface StatusView {
  /** The run's record, and whether the process that runs it is alive. */
  run: (RunRecord & { alive: boolean }) | null;
  /** Every job's record. */
  jobs: JobRecord[];
}

/**
 * Read a workdir's status.
 *
 * @param workdir The workdir.
 * @returns The view.
 * @throws {ValidationError} When the workdir has no state.
 */
export async function statusView(workdir: string): Promise<StatusView> {
  const state = await readState(workdir);
  if (!state) throw new ValidationError(`Workdir "${workdir}" has no run state (state.kv)`);
  const owner = await lockOwner(workdir);
  return {
    run: state.run ? { ...state.run, alive: owner !== null } : null,
    jobs: state.jobs,
  };
}

/**
 * Render a status view as the table `xqc status` prints.
 *
 * @param view The view.
 * @param now The time, for durations of what still runs.
 * @returns The text.
 */
export function renderStatus(view: StatusView, now: number): string {
  const lines: string[] = [];
  const run = view.run;
  if (run) {
    const state = run.state === "running" && !run.alive
      ? "crashed (its process is gone)"
      : run.state;
    const took = (run.endedAt ?? now) - run.startedAt;
    lines.push(
      `run ${run.runId}  ${run.scheduler}${
        run.image ? `  image ${run.image}` : ""
      }  forks ${run.forks}` +
        `  pid ${run.pid}${run.alive ? " (alive)" : ""}`,
      `state ${state}${run.signal ? ` (${run.signal})` : ""}, ${formatDuration(took)}` +
        `${run.endedAt ? "" : " so far"}, started ${new Date(run.startedAt).toISOString()}`,
    );
  }
  const count = (...names: string[]) => view.jobs.filter((j) => names.includes(j.status)).length;
  lines.push(
    `jobs ${view.jobs.length}: ${count("FINISHED")} finished, ${count("FAILED")} failed, ` +
      `${count("KILLED")} killed, ${count("SKIPPED")} skipped, ` +
      `${count("RUNNING", "SUBMITTED", "KILLING")} running, ${count("QUEUED", "INIT")} queued` +
      (count("CANCELLED") ? `, ${count("CANCELLED")} cancelled` : ""),
    "",
  );
  const jidWidth = Math.max(4, ...view.jobs.map((j) => j.jid.length)) + 2;
  lines.push(
    `${"INDEX".padEnd(6)}${"STATUS".padEnd(10)}${"RC".padEnd(5)}${"TRIAL".padEnd(6)}${
      "TIME".padEnd(12)
    }${"CPU".padEnd(12)}${"PEAK MEM".padEnd(11)}${"JID".padEnd(jidWidth)}CMD`,
  );
  for (const job of view.jobs) {
    const start = job.usage?.startedAt ?? job.startedAt;
    const end = job.usage?.endedAt ?? job.endedAt;
    const time = start ? formatDuration((end ?? now) - start) : "";
    const cpu = job.usage?.cpuMs != null ? formatDuration(job.usage.cpuMs) : "";
    const peak = job.usage?.peakRss != null
      ? formatBytes(job.usage.peakRss, { binary: true, maximumFractionDigits: 1 }) +
        (job.usage.measured === "sampled" ? "~" : "")
      : "";
    lines.push(
      `${String(job.index).padEnd(6)}${job.status.padEnd(10)}${String(job.rc ?? "").padEnd(5)}` +
        `${String(job.trial).padEnd(6)}${time.padEnd(12)}${cpu.padEnd(12)}${peak.padEnd(11)}` +
        `${printable(job.jid).padEnd(jidWidth)}${printable(job.cmd)}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * `xqc status`.
 *
 * @param args The arguments after `status`.
 * @param io Where output goes.
 * @returns The exit code.
 */
export async function commandStatus(args: string[], io: Io): Promise<number> {
  const flags = parseFlags(args, {
    string: ["workdir"],
    boolean: ["json", "watch"],
    alias: { w: "workdir" },
  }, "status");
  if (flags.help) {
    io.out(HELP.status + "\n");
    return 0;
  }
  const workdir = await existingWorkdir(flags);
  for (;;) {
    const view = await statusView(workdir);
    if (flags.json) io.out(JSON.stringify(view) + "\n");
    else {
      if (flags.watch && Deno.stdout.isTerminal()) io.out("\x1b[H\x1b[2J");
      io.out(renderStatus(view, Date.now()));
    }
    if (!flags.watch || !view.run?.alive) return 0;
    await delay(1000);
  }
}
