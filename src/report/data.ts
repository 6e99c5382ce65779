// What a run's report shows, gathered from its workdir: the Kv state, trace.tsv (one row a
// trial) and the tail of each failed job's stderr.

import { readJobBytes, UnsafeFileError } from "../core/job_files.ts";
import { join } from "@std/path/posix";
import { recordDir, type RunRecord } from "../core/state.ts";
import { readState } from "../core/state_view.ts";

/** One trial of a job, as the timeline draws it. */
export interface ReportTrial {
  /** The job's index. */
  index: number;
  /** The trial, from 1. */
  trial: number;
  /** How it ended. */
  status: string;
  /** Its rc. */
  exit: number | null;
  /** When it was submitted, started and completed (ms since the epoch). */
  submit: number | null;
  /** When it started running. */
  start: number | null;
  /** When it ended. */
  complete: number | null;
  /** Its CPU time, ms. */
  cpuMs: number | null;
  /** Its peak memory, bytes. */
  peakRss: number | null;
}

/** One job, as its last trial left it. */
export interface ReportJob {
  /** Its index. */
  index: number;
  /** Its command (cut). */
  cmd: string;
  /** What kind of command: its first word (`python`, `samtools`). */
  kind: string;
  /** Its status name. */
  status: string;
  /** Its rc. */
  rc: number | null;
  /** How many trials it had. */
  trials: number;
  /** Its last trial's CPU time, ms. */
  cpuMs: number | null;
  /** Its last trial's peak memory, bytes. */
  peakRss: number | null;
  /** Its last trial's run time, ms. */
  realtimeMs: number | null;
}

/** A failed or killed job, with the end of its stderr. */
export interface ReportFailure {
  /** Its index. */
  index: number;
  /** Its command (cut). */
  cmd: string;
  /** FAILED or KILLED. */
  status: string;
  /** Its rc. */
  rc: number | null;
  /** The last lines of its `job.stderr`. */
  stderr: string;
}

/** Everything a report shows. */
export interface ReportData {
  /** The workdir. */
  workdir: string;
  /** When the report was made. */
  generatedAt: number;
  /** The run's record. */
  run: RunRecord | null;
  /** How many jobs ended how. */
  counts: Record<string, number>;
  /** Every job. */
  jobs: ReportJob[];
  /** Every trial that ran (from trace.tsv). */
  trials: ReportTrial[];
  /** Failed and killed jobs (the first ones), with their stderr's end. */
  failures: ReportFailure[];
  /** How many failed or killed jobs are not listed. */
  moreFailures: number;
}

const CMD_SHOWN = 300;
const FAILURES_SHOWN = 100;
const STDERR_LINES = 20;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * The kind of a command: its program's name (the first word, without its path), or for
 * `bash -c`/`sh -c` command lines the first word of the line (the shell, when the line
 * starts by setting a variable).
 *
 * @param cmd The command as one line.
 * @returns The kind.
 */
export function commandKind(cmd: string): string {
  const words = cmd.trim().split(/\s+/);
  const program = (words[0] ?? "").split("/").pop() || "?";
  if (/^(ba)?sh$/.test(program) && words[1] === "-c" && words[2]) {
    // A script's first word, unless it sets a variable: then all that is known is the shell.
    const first = words[2].replace(/^['"]/, "");
    return /^[A-Za-z_]\w*=/.test(first) || !first ? program : first.split("/").pop()!;
  }
  return program;
}

/**
 * Read trace.tsv's rows.
 *
 * @param text The file's text.
 * @returns The trials.
 */
export function parseTrace(text: string): ReportTrial[] {
  const [header, ...lines] = text.trim().split("\n");
  const columns = header.split("\t");
  const at = (row: string[], name: string) => row[columns.indexOf(name)];
  const num = (value: string | undefined) => value && value !== "-" ? Number(value) : null;
  return lines.filter(Boolean).map((line) => {
    const row = line.split("\t");
    return {
      index: Number(at(row, "task_id")),
      trial: Number(at(row, "attempt")),
      status: at(row, "status"),
      exit: num(at(row, "exit")),
      submit: num(at(row, "submit")),
      start: num(at(row, "start")),
      complete: num(at(row, "complete")),
      cpuMs: num(at(row, "cpu_time")),
      peakRss: num(at(row, "peak_rss")),
    };
  });
}

function tail(path: string, lines: number): string {
  // The job wrote it: a link or a FIFO there is refused, never followed or waited on.
  try {
    const bytes = readJobBytes(path, -16 * 1024, 16 * 1024);
    if (!bytes) return "";
    return new TextDecoder().decode(bytes).trimEnd().split("\n").slice(-lines).join("\n");
  } catch (e) {
    return e instanceof UnsafeFileError ? `(xqc: not shown: ${e.message})` : "";
  }
}

/**
 * Gather a workdir's report.
 *
 * @param workdir The workdir.
 * @returns The report's data, or `null` when the workdir has no state.
 */
export async function collectReport(workdir: string): Promise<ReportData | null> {
  const state = await readState(workdir);
  if (!state) return null;
  const trials = await Deno.readTextFile(join(workdir, "trace.tsv")).then(parseTrace, () => []);
  const counts: Record<string, number> = {};
  const jobs: ReportJob[] = state.jobs.map((record) => {
    counts[record.status] = (counts[record.status] ?? 0) + 1;
    const usage = record.usage;
    const start = usage?.startedAt ?? record.startedAt;
    const end = usage?.endedAt ?? record.endedAt;
    return {
      index: record.index,
      cmd: cut(record.cmd, CMD_SHOWN),
      kind: commandKind(record.cmd),
      status: record.status,
      rc: record.rc,
      trials: record.trial,
      cpuMs: usage?.cpuMs ?? null,
      peakRss: usage?.peakRss ?? null,
      realtimeMs: start !== null && end !== null ? end - start : null,
    };
  });
  const dirs = new Map(state.jobs.map((record) => [record.index, recordDir(record)]));
  const failed = jobs.filter((job) => job.status === "FAILED" || job.status === "KILLED");
  const failures = failed.slice(0, FAILURES_SHOWN).map((job) => ({
    index: job.index,
    cmd: job.cmd,
    status: job.status,
    rc: job.rc,
    stderr: tail(join(workdir, dirs.get(job.index)!, "job.stderr"), STDERR_LINES),
  }));
  return {
    workdir,
    generatedAt: Date.now(),
    run: state.run,
    counts,
    jobs,
    trials,
    failures,
    moreFailures: failed.length - failures.length,
  };
}
