// <workdir>/trace.tsv: one row per trial as it ends, with Nextflow's trace column names
// where they mean the same, so that existing trace readers work.

import { grown } from "../core/grow.ts";
import { join } from "@std/path/posix";
import type { Job } from "../core/job.ts";
import { jobOutcome } from "../core/status.ts";

/**
 * The columns, in order. Times are ms since the epoch, durations ms, memory bytes (as
 * Nextflow's raw trace); `cpu_time` and `measured` are ours.
 */
export const TRACE_COLUMNS: readonly string[] = [
  "task_id",
  "hash",
  "native_id",
  "name",
  "status",
  "exit",
  "submit",
  "start",
  "complete",
  "duration",
  "realtime",
  "%cpu",
  "cpu_time",
  "peak_rss",
  "attempt",
  "container",
  "cpus",
  "memory",
  "measured",
];

/** How long a command may be in its row. */
const NAME_MAX = 200;

/**
 * A trial's row.
 *
 * @param job The job, as its trial ended.
 * @param hash Its resume hash.
 * @param container The image it ran in, if any.
 * @returns The row's cells, as {@linkcode TRACE_COLUMNS} orders them.
 */
export function traceRow(job: Job, hash: string, container: string | null): string[] {
  const usage = job.usage;
  const submit = job.trialSubmittedAt;
  const start = usage?.startedAt ?? job.startedAt;
  const complete = usage?.endedAt ?? job.endedAt;
  const realtime = start !== null && complete !== null ? complete - start : null;
  const cpu = usage?.cpuMs ?? null;
  const limits = job.trialLimits.at(-1) ?? {};
  const cell = (value: string | number | null | undefined) =>
    value === null || value === undefined ? "-" : String(value);
  const name = job.cmdText.replace(/[\t\r\n]+/g, " ");
  return [
    cell(job.index),
    cell(hash.slice(0, 8) || null),
    cell(job.jid || null),
    name.length > NAME_MAX ? name.slice(0, NAME_MAX) + "…" : name,
    jobOutcome(job),
    cell(job.rc),
    cell(submit),
    cell(start),
    cell(complete),
    cell(submit !== null && complete !== null ? complete - submit : null),
    cell(realtime),
    cell(cpu !== null && realtime ? (cpu / realtime * 100).toFixed(1) : null),
    cell(cpu),
    cell(usage?.peakRss),
    cell(job.trial),
    cell(container),
    cell(limits.cpus),
    cell(limits.memory),
    cell(usage?.measured),
  ];
}

/** Writes a run's trace, a row as each trial ends. */
export class TraceWriter {
  /** The file. */
  readonly path: string;
  // The trial last written of each job, by index: two bytes a job, not a map entry.
  #written = new Uint16Array(1024);

  /**
   * Start a workdir's trace (the header; a new run starts a new trace).
   *
   * @param workdir The workdir.
   */
  constructor(workdir: string) {
    this.path = join(workdir, "trace.tsv");
    Deno.writeTextFileSync(this.path, TRACE_COLUMNS.join("\t") + "\n");
  }

  /**
   * Write the row of a job's trial that just ended (once per trial), or of a start of it
   * that ended in a requeue (status `REQUEUED`: where it ran put it back to wait).
   *
   * @param job The job.
   * @param hash Its resume hash.
   * @param container The image it ran in, if any.
   * @param requeued Whether a start of the trial ended in a requeue.
   */
  trialEnded(job: Job, hash: string, container: string | null, requeued = false): void {
    if (job.endedAt === null || (!requeued && this.#written[job.index] === job.trial)) return;
    const row = traceRow(job, hash, container);
    if (requeued) {
      row[TRACE_COLUMNS.indexOf("status")] = "REQUEUED";
      row[TRACE_COLUMNS.indexOf("exit")] = "-";
    } else {
      this.#written = grown(this.#written, job.index + 1);
      this.#written[job.index] = job.trial;
    }
    Deno.writeTextFileSync(this.path, row.join("\t") + "\n", { append: true });
  }
}
