// The run's state in Deno.Kv at <workdir>/state.kv: written by the run, read by anyone.

import { join } from "@std/path";
import type { Job } from "./job.ts";
import { type Logger, stderrLogger } from "./logger.ts";
import type { JobStatusCode } from "./status.ts";

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
}

/** A job's record, key `["job", index]`. */
export interface JobRecord {
  /** The job's index. */
  index: number;
  /** The command, as one line. */
  cmd: string;
  /** The status code. */
  status: JobStatusCode;
  /** The last trial's exit code. */
  rc: number | null;
  /** The number of trials started. */
  trial: number;
  /** The container name or process id. */
  jid: string;
  /** Whether the last trial was killed. */
  killed: boolean;
  /** Whether the job was skipped as already finished. */
  skipped: boolean;
  /** A hash of the command, envs and image, for `--resume`. */
  hash: string;
  /** When it was first submitted. */
  submittedAt: number | null;
  /** When its last trial started running. */
  startedAt: number | null;
  /** When its last trial ended. */
  endedAt: number | null;
}

const CHUNK = 100;

/** The Deno.Kv store of one workdir. Writes are batched, one atomic commit per turn. */
export class StateStore {
  /** The path of the Kv file. */
  readonly path: string;
  #kv: Deno.Kv;
  #logger: Logger;
  #dirtyJobs = new Map<number, JobRecord>();
  #dirtyRun: RunRecord | null = null;
  #flushing: Promise<void> | null = null;
  #scheduled = false;

  private constructor(path: string, kv: Deno.Kv, logger: Logger) {
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
   * @param record The run's record.
   */
  putRun(record: RunRecord): void {
    this.#dirtyRun = { ...record };
    this.#schedule();
  }

  /**
   * Record a job (written with the next batch).
   *
   * @param record The job's record.
   */
  putJob(record: JobRecord): void {
    this.#dirtyJobs.set(record.index, record);
    this.#schedule();
  }

  /** Write what is pending; resolves once it is on disk. */
  async flush(): Promise<void> {
    while (this.#flushing || this.#dirtyRun || this.#dirtyJobs.size) {
      if (this.#flushing) {
        await this.#flushing;
        continue;
      }
      this.#flushing = this.#write().finally(() => this.#flushing = null);
      await this.#flushing;
    }
  }

  /** The run's record, if any. */
  async readRun(): Promise<RunRecord | null> {
    return (await this.#kv.get<RunRecord>(["run"])).value;
  }

  /** Every job's record, by index. */
  async readJobs(): Promise<JobRecord[]> {
    const jobs: JobRecord[] = [];
    for await (const entry of this.#kv.list<JobRecord>({ prefix: ["job"] })) jobs.push(entry.value);
    return jobs.sort((a, b) => a.index - b.index);
  }

  /** Delete every job's record (a new run that does not resume). */
  async clearJobs(): Promise<void> {
    const keys: Deno.KvKey[] = [];
    for await (const entry of this.#kv.list({ prefix: ["job"] })) keys.push(entry.key);
    for (let i = 0; i < keys.length; i += CHUNK) {
      const op = this.#kv.atomic();
      for (const key of keys.slice(i, i + CHUNK)) op.delete(key);
      await op.commit();
    }
  }

  /** Flush and close. */
  async close(): Promise<void> {
    await this.flush();
    this.#kv.close();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.flush().catch((e) => this.#logger.warn(`could not write ${this.path}: ${e}`));
    }, 0);
  }

  async #write(): Promise<void> {
    const run = this.#dirtyRun;
    const jobs = [...this.#dirtyJobs.values()];
    this.#dirtyRun = null;
    this.#dirtyJobs.clear();
    for (let i = 0; i < Math.max(jobs.length, 1); i += CHUNK) {
      const op = this.#kv.atomic();
      if (i === 0 && run) op.set(["run"], run);
      for (const job of jobs.slice(i, i + CHUNK)) op.set(["job", job.index], job);
      await op.commit();
    }
  }
}

/**
 * A job's record, as the run keeps it.
 *
 * @param job The job.
 * @param hash Its resume hash.
 * @returns The record.
 */
export function jobRecordOf(job: Job, hash: string): JobRecord {
  return {
    index: job.index,
    cmd: job.cmdText,
    status: job.status,
    rc: job.rc,
    trial: job.trial,
    jid: job.jid,
    killed: job.killed,
    skipped: job.skipped,
    hash,
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    endedAt: job.endedAt,
  };
}

/**
 * Read a workdir's state without taking part in its run (for `xqc status`).
 *
 * @param workdir The workdir.
 * @returns The run's record and the jobs', or `null` when the workdir has no state.
 */
export async function readState(
  workdir: string,
): Promise<{ run: RunRecord | null; jobs: JobRecord[] } | null> {
  try {
    await Deno.stat(join(workdir, "state.kv"));
  } catch {
    return null;
  }
  const store = await StateStore.open(workdir);
  try {
    return { run: await store.readRun(), jobs: await store.readJobs() };
  } finally {
    await store.close();
  }
}
