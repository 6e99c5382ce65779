// `xqc status`: a run and its jobs, read from the workdir's state, also while it runs.

import { printable } from "../core/printable.ts";
import { delay } from "@std/async/delay";
import { ValidationError } from "../core/errors.ts";
import type { JobRecord, RunRecord } from "../core/state.ts";
import { eachJobs, readSomeJobs, readState } from "../core/state_view.ts";
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
  /** Every job's record; with `partial`, only the running and the first failed jobs'. */
  jobs: JobRecord[];
  /** Whether `jobs` holds only some jobs (a large run: the counts come from the run). */
  partial?: boolean;
}

/** A run of more jobs than this shows its counts, running and failed jobs; `--all`, all. */
export const STATUS_TABLE_MAX = 1000;

/**
 * Read a workdir's status.
 *
 * @param workdir The workdir.
 * @param all Every job, however many.
 * @returns The view.
 * @throws {ValidationError} When the workdir has no state.
 */
export async function statusView(workdir: string, all = false): Promise<StatusView> {
  let state = await readSomeJobs(workdir, []);
  if (!state) throw new ValidationError(`Workdir "${workdir}" has no run state (state.kv)`);
  const run = state.run;
  const partial = !all && run?.counts !== undefined && run.total > STATUS_TABLE_MAX;
  if (partial) {
    const indexes = [...new Set([...run.running ?? [], ...run.failed ?? []])].sort((a, b) => a - b);
    state = (await readSomeJobs(workdir, indexes))!;
  } else state = (await readState(workdir))!;
  const owner = await lockOwner(workdir);
  return {
    run: state.run ? { ...state.run, alive: owner !== null } : null,
    jobs: state.jobs,
    ...(partial ? { partial } : {}),
  };
}

/**
 * Render a status view as the table `xqc status` prints.
 *
 * @param view The view.
 * @param now The time, for durations of what still runs.
 * @param table Whether to print the jobs' table after the run and its counts.
 * @returns The text.
 */
export function renderStatus(view: StatusView, now: number, table = true): string {
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
  const counts = view.partial ? run?.counts ?? {} : null;
  const count = (...names: string[]) =>
    counts
      ? names.reduce((sum, name) => sum + (counts[name] ?? 0), 0)
      : view.jobs.filter((j) => names.includes(j.status)).length;
  lines.push(
    `jobs ${view.partial ? run?.total : view.jobs.length}: ${count("FINISHED")} finished, ` +
      `${count("FAILED")} failed, ` +
      `${count("KILLED")} killed, ${count("SKIPPED")} skipped, ` +
      `${count("RUNNING", "SUBMITTED", "KILLING")} running, ${count("QUEUED", "INIT")} queued` +
      (count("CANCELLED") ? `, ${count("CANCELLED")} cancelled` : ""),
    "",
  );
  if (!table) return lines.join("\n");
  if (view.partial) {
    lines.push(
      `the running jobs and the first failed ones; all ${run?.total}: xqc status --all`,
      "",
    );
  }
  const jidWidth = Math.max(4, ...view.jobs.map((j) => j.jid.length)) + 2;
  lines.push(tableHeader(jidWidth), ...tableRows(view.jobs, jidWidth, now));
  return lines.join("\n") + "\n";
}

function tableHeader(jidWidth: number): string {
  return `${"INDEX".padEnd(6)}${"STATUS".padEnd(10)}${"RC".padEnd(5)}${"TRIAL".padEnd(6)}${
    "TIME".padEnd(12)
  }${"CPU".padEnd(12)}${"PEAK MEM".padEnd(11)}${"JID".padEnd(jidWidth)}CMD`;
}

function tableRows(jobs: readonly JobRecord[], jidWidth: number, now: number): string[] {
  const lines: string[] = [];
  for (const job of jobs) {
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
  return lines;
}

/**
 * Print every job of a large run as it is read, a batch at a time: the table, or with
 * `json` the view's JSON, its jobs written as they come.
 *
 * @param workdir The workdir.
 * @param json Whether to print JSON.
 * @param io Where output goes.
 */
async function streamAll(workdir: string, json: boolean, io: Io): Promise<void> {
  const view = await statusView(workdir, false);
  const now = Date.now();
  if (!view.partial) {
    io.out(json ? JSON.stringify(view) + "\n" : renderStatus(view, now));
    return;
  }
  let jidWidth = 0;
  let first = true;
  if (json) io.out(`${JSON.stringify({ run: view.run }).slice(0, -1)},"jobs":[`);
  else io.out(renderStatus(view, now, false));
  await eachJobs(workdir, (jobs) => {
    if (json) {
      io.out((first ? "" : ",") + jobs.map((job) => JSON.stringify(job)).join(","));
    } else {
      // The first batch sets the JID column's width.
      if (first) {
        jidWidth = Math.max(4, ...jobs.map((j) => j.jid.length)) + 2;
        io.out(tableHeader(jidWidth) + "\n");
      }
      io.out(tableRows(jobs, jidWidth, now).join("\n") + "\n");
    }
    first = false;
  });
  io.out(json ? "]}\n" : first ? tableHeader(6) + "\n" : "");
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
    boolean: ["json", "watch", "all"],
    alias: { w: "workdir" },
  }, "status");
  if (flags.help) {
    io.out(HELP.status + "\n");
    return 0;
  }
  const workdir = await existingWorkdir(flags);
  if (flags.all && !flags.watch) {
    await streamAll(workdir, flags.json === true, io);
    return 0;
  }
  for (;;) {
    const view = await statusView(workdir, flags.all === true);
    if (flags.json) io.out(JSON.stringify(view) + "\n");
    else {
      if (flags.watch && Deno.stdout.isTerminal()) io.out("\x1b[H\x1b[2J");
      io.out(renderStatus(view, Date.now()));
    }
    if (!flags.watch || !view.run?.alive) return 0;
    await delay(1000);
  }
}
