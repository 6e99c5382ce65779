// The run's state in Deno.Kv at <workdir>/state.kv: written by the run, read by anyone.
// Records always fit a Kv value, commits are sized by bytes, and a failed write is retried,
// never dropped; a write that keeps failing is reported, never turned into a failed run.

import { delay } from "@std/async/delay";
import { join } from "@std/path/posix";
import type { Job } from "./job.ts";
import { type Logger, stderrLogger } from "./logger.ts";
import { type JobOutcome, jobOutcome } from "./status.ts";
import type { JobUsage } from "./usage.ts";

/** The run's record, key `["run"]`. */
export interface RunRecord {
  /** The run's id, part of every container name. */
  runId: string;
  /** The process that runs it. */
  pid: number;
  /** The host it runs on. */
  hostname: string;
  /** The scheduler's name, with the engine for containers (`container-docker`). */
  scheduler: string;
  /** The image, for container runs. */
  image: string | null;
  /** The engine binary, for container runs. */
  bin: string | null;
  /** The first part of its container and job names. */
  jobnamePrefix?: string;
  /** How many jobs run at once. */
  forks: number;
  /** How many jobs were fed so far. */
  total: number;
  /** `running` until the run ends; then how it ended. */
  state: "running" | "done" | "halted" | "interrupted";
  /** The signal that interrupted the run. */
  signal: string | null;
  /** When it started (ms since the epoch). */
  startedAt: number;
  /** When it ended. */
  endedAt: number | null;
  /** How many jobs are in each state (FINISHED, FAILED, …), kept as they change. */
  counts?: Record<string, number>;
  /** Indexes of running jobs, at most a few hundred (the first to start). */
  running?: number[];
  /** Indexes of the first jobs to fail or be killed, at most a few hundred. */
  failed?: number[];
}

/** A job's record, key `["job", index]`. */
export interface JobRecord {
  /** The job's index. */
  index: number;
  /** The command as one line, cut at {@linkcode CMD_KEPT} characters (`job.wrapped.*` has it all). */
  cmd: string;
  /** The length of the whole command line, in characters. */
  cmdLength: number;
  /** Its status name, as the summary says it. */
  status: JobOutcome;
  /** The last trial's exit code. */
  rc: number | null;
  /** The number of trials started. */
  trial: number;
  /** The container name, process id or cluster job id. */
  jid: string;
  /** Whether the last trial was killed. */
  killed: boolean;
  /** Whether the job was skipped as already finished. */
  skipped: boolean;
  /** A hash of all that decides its result, for `--resume`. */
  hash: string;
  /** Its metadir's name under the workdir, when it is not the index (see `--resume`). */
  dir?: string;
  /** When it was first submitted. */
  submittedAt: number | null;
  /** When its last trial started running. */
  startedAt: number | null;
  /** When its last trial ended. */
  endedAt: number | null;
  /** What its last trial used (times, peak memory, CPU time), once it ended. */
  usage: JobUsage | null;
}

/** How many characters of a command a record keeps: far below Kv's 64 KiB per value. */
export const CMD_KEPT = 2048;
/** What one commit carries at most, in bytes: well under Kv's 800 KiB per atomic commit. */
export const COMMIT_BYTES = 400 * 1024;
/** How many records one commit carries at most. */
export const COMMIT_RECORDS = 500;
/** How many times a failed write is tried again before it is reported (it stays pending). */
const RETRIES = 8;
/**
 * How long changes gather before they are committed: a commit (and its fsync) costs about a
 * millisecond of CPU, so a run of many short jobs makes a few dozen commits a second, not one
 * for each change.
 */
export const COMMIT_WINDOW_MS = 50;
/**
 * How many job records may wait to be written before a feed waits for them: jobs skipped by
 * `--resume` are fed one after another without letting the window's timer fire.
 */
export const PENDING_MAX = 2000;

/**
 * A job's record, as the run keeps it.
 *
 * @param job The job.
 * @param hash Its resume hash.
 * @param ended Whether the run has ended (a job that never started is then CANCELLED).
 * @returns The record.
 */
export function jobRecordOf(job: Job, hash: string, ended = false): JobRecord {
  const text = job.cmdText;
  return {
    index: job.index,
    cmd: text.length > CMD_KEPT ? text.slice(0, CMD_KEPT) + "…" : text,
    cmdLength: text.length,
    status: jobOutcome(job, ended),
    rc: job.rc,
    trial: job.trial,
    jid: job.jid,
    killed: job.killed,
    skipped: job.skipped,
    hash,
    ...(job.dir === String(job.index) ? {} : { dir: job.dir }),
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
    usage: job.usage,
  };
}

/**
 * The name of a record's metadir under its workdir.
 *
 * @param record The job's record.
 * @returns The name: its index, unless `--resume` placed it elsewhere.
 */
export function recordDir(record: Pick<JobRecord, "index" | "dir">): string {
  return record.dir ?? String(record.index);
}

/**
 * An upper bound of the bytes a record takes in a commit (Kv stores strings as one or two
 * bytes a character; the key and framing are a few dozen bytes).
 *
 * @param record The record.
 * @returns Bytes.
 */
export function recordBytes(record: unknown): number {
  return 2 * JSON.stringify(record).length + 64;
}

/**
 * Cut a list of records into commits of at most {@linkcode COMMIT_BYTES} bytes and
 * {@linkcode COMMIT_RECORDS} records.
 *
 * @param records The records.
 * @returns The batches, in order.
 */
export function commitBatches<T>(records: readonly T[]): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordBytes(record);
    if (batch.length && (bytes + size > COMMIT_BYTES || batch.length >= COMMIT_RECORDS)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(record);
    bytes += size;
  }
  if (batch.length) batches.push(batch);
  return batches;
}

type Entry = { key: Deno.KvKey; value: RunRecord | JobRecord };

/**
 * The Deno.Kv store of one workdir. Writes are batched: what changes within
 * {@linkcode COMMIT_WINDOW_MS} goes into one commit when it fits.
 */
export class StateStore {
  /** The path of the Kv file. */
  readonly path: string;
  #kv: Deno.Kv;
  #logger: Logger;
  #pendingJobs = new Map<number, JobRecord>();
  #pendingRun: RunRecord | (() => RunRecord) | null = null;
  #writing: Promise<boolean> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastError: unknown = null;
  #timedFailures = 0;

  /**
   * A store over an open Kv.
   *
   * @param path The Kv file's path.
   * @param kv The open Kv.
   * @param logger Where trouble writing it is told.
   */
  constructor(path: string, kv: Deno.Kv, logger: Logger = stderrLogger) {
    this.path = path;
    this.#kv = kv;
    this.#logger = logger;
  }

  /**
   * Open the store of a workdir.
   *
   * @param workdir The workdir (it must exist).
   * @param logger Where trouble writing it is told.
   * @returns The store.
   */
  static async open(workdir: string, logger: Logger = stderrLogger): Promise<StateStore> {
    const path = join(workdir, "state.kv");
    return new StateStore(path, await Deno.openKv(path), logger);
  }

  /**
   * Record the run (written with the next batch).
   *
   * @param record The run's record, or what makes it when the batch is written (for a
   *   record that changes with every job, made once a batch).
   */
  putRun(record: RunRecord | (() => RunRecord)): void {
    this.#pendingRun = typeof record === "function" ? record : { ...record };
    this.#schedule();
  }

  /**
   * Record a job (written with the next batch; a newer record of the job replaces it).
   *
   * @param record The job's record.
   */
  putJob(record: JobRecord): void {
    this.#pendingJobs.set(record.index, record);
    this.#schedule();
  }

  /**
   * When too many job records wait to be written ({@linkcode PENDING_MAX}), write them now,
   * once: a write that fails leaves them pending, as the timer's would, and is not waited on.
   */
  async room(): Promise<void> {
    if (this.#pendingJobs.size < PENDING_MAX) return;
    this.#writing ??= this.#writeOnce().finally(() => this.#writing = null);
    await this.#writing;
  }

  /**
   * Write what is pending, trying again after a failure (with growing pauses).
   *
   * @returns `true` once all is on disk; `false` when writes kept failing (what failed stays
   *   pending, for the next flush).
   */
  async flush(): Promise<boolean> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let failures = 0;
    while (this.#writing || this.#pendingRun || this.#pendingJobs.size) {
      if (this.#writing) {
        await this.#writing;
        continue;
      }
      this.#writing = this.#writeOnce().finally(() => this.#writing = null);
      if (await this.#writing) {
        failures = 0;
        continue;
      }
      if (++failures > RETRIES) return false;
      await delay(retryPauseMs(failures));
    }
    return true;
  }

  /** Delete every job's record, and the earlier runs' ones (a new run, not resumed). */
  async clearJobs(): Promise<void> {
    for (const prefix of ["job", "earlier"]) {
      const keys: Deno.KvKey[] = [];
      for await (const entry of this.#kv.list({ prefix: [prefix] })) keys.push(entry.key);
      for (const batch of commitBatches(keys)) {
        const op = this.#kv.atomic();
        for (const key of batch) op.delete(key);
        await op.commit();
      }
    }
  }

  /**
   * Keep the last run's job records as earlier ones, key `["earlier", dir]`, for a resumed
   * run to find finished jobs by content; the run's own records start empty. A record of a
   * metadir replaces an earlier one of the same metadir. Each batch moves at once, so a
   * crash in between loses none (the rest is moved by the next start).
   *
   * @param each Called with every earlier record: of the last run and of the runs before.
   */
  async keepEarlier(each: (record: JobRecord) => void): Promise<void> {
    // Two mutations a record: half a commit's records, to stay within Kv's mutations a commit.
    const move = async (batch: JobRecord[]) => {
      const op = this.#kv.atomic();
      for (const record of batch) {
        op.delete(["job", record.index]).set(["earlier", recordDir(record)], record);
      }
      await op.commit();
    };
    let batch: JobRecord[] = [];
    let bytes = 0;
    for await (const entry of this.#kv.list<JobRecord>({ prefix: ["job"] })) {
      batch.push(entry.value);
      bytes += recordBytes(entry.value);
      if (batch.length >= COMMIT_RECORDS / 2 || bytes > COMMIT_BYTES / 2) {
        await move(batch);
        [batch, bytes] = [[], 0];
      }
    }
    if (batch.length) await move(batch);
    for await (const entry of this.#kv.list<JobRecord>({ prefix: ["earlier"] })) each(entry.value);
  }

  /** Flush and close; a write that keeps failing is reported, not thrown. */
  async close(): Promise<void> {
    if (!(await this.flush())) {
      this.#logger.warn(
        `could not write the state of ${this.#pendingJobs.size} job(s) to ${this.path}: ${
          errorText(this.#lastError)
        } (the jobs' files in their metadirs are complete)`,
      );
    }
    this.#kv.close();
  }

  /** Arm the window's timer: when it fires, what is pending then is written once. */
  #schedule(delayMs = COMMIT_WINDOW_MS): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writeWindow();
    }, delayMs);
  }

  /**
   * The timer's write: one pass, never a loop, so that a steady stream of changes makes one
   * commit a window. What changes meanwhile has armed the next window; a failure is tried
   * again after a growing pause, and told every {@linkcode RETRIES} failures.
   */
  async #writeWindow(): Promise<void> {
    if (this.#writing) {
      await this.#writing;
      if (this.#pendingRun || this.#pendingJobs.size) this.#schedule();
      return;
    }
    this.#writing = this.#writeOnce().finally(() => this.#writing = null);
    if (await this.#writing) {
      this.#timedFailures = 0;
      return;
    }
    if (++this.#timedFailures % (RETRIES + 1) === 0) {
      this.#logger.warn(
        `writing ${this.path} keeps failing (${errorText(this.#lastError)}); trying again`,
      );
    }
    this.#schedule(retryPauseMs(this.#timedFailures));
  }

  /** One pass over what is pending; what fails goes back to pending unless replaced since. */
  async #writeOnce(): Promise<boolean> {
    const entries: Entry[] = [];
    const run = this.#pendingRun;
    if (run) entries.push({ key: ["run"], value: typeof run === "function" ? run() : run });
    for (const job of this.#pendingJobs.values()) {
      entries.push({ key: ["job", job.index], value: job });
    }
    this.#pendingRun = null;
    this.#pendingJobs.clear();
    const batches = commitBatches(entries);
    for (const [i, batch] of batches.entries()) {
      try {
        const op = this.#kv.atomic();
        for (const entry of batch) op.set(entry.key, entry.value);
        const result = await op.commit();
        if (!result.ok) throw new Error("the commit was refused");
      } catch (e) {
        this.#lastError = e;
        for (const entry of batches.slice(i).flat()) this.#requeue(entry);
        return false;
      }
    }
    return true;
  }

  #requeue(entry: Entry): void {
    if (entry.key[0] === "run") {
      this.#pendingRun ??= entry.value as RunRecord;
      return;
    }
    const job = entry.value as JobRecord;
    if (!this.#pendingJobs.has(job.index)) this.#pendingJobs.set(job.index, job);
  }
}

/** The pause before trying a failed write again: growing, at most 2 s. */
function retryPauseMs(failures: number): number {
  return Math.min(2000, 25 * 2 ** Math.min(failures, 7));
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
