// What makes a finished job the same job again, for `--resume`: a hash of all that decides
// its result, and the earlier runs' finished jobs found by it wherever a job now stands.

import { sha256Hex } from "../core/digest.ts";
import { readJobFile } from "../core/job_files.ts";
import type { Job } from "../core/job.ts";
import { type JobRecord, recordDir } from "../core/state.ts";
import { JobStatus } from "../core/status.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";

/**
 * The hash of a job's command, its envs and what its scheduler says decides its result
 * (the image's content, the entrypoint, the mounts, the prescript and postscript, …).
 *
 * @param job The job.
 * @param scheduler Its scheduler.
 * @returns 64 hex digits.
 */
export function jobHash(job: Job, scheduler: Scheduler): Promise<string> {
  return sha256Hex(JSON.stringify({
    cmd: job.cmd,
    envs: Object.entries({ ...scheduler.envs, ...job.envs }).sort(),
    ...scheduler.jobIdentity(job),
  }));
}

/**
 * Whether a job finished in an earlier run of the workdir: its record says so, or the run
 * crashed while the job ran and the job's wrapper wrote FINISHED and rc 0 (a cluster job
 * goes on without xqc).
 *
 * @param record The job's record from the earlier run.
 * @param job The job (its metadir is read).
 * @returns `true` when it finished.
 */
export function finishedBefore(record: Pick<JobRecord, "status">, job: Job): boolean {
  if (record.status === "FINISHED" || record.status === "SKIPPED") return true;
  if (record.status !== "RUNNING" && record.status !== "SUBMITTED") return false;
  try {
    return readJobFile(job.statusFile, 64)?.trim() === String(JobStatus.FINISHED) &&
      readJobFile(job.rcFile, 64)?.trim() === "0";
  } catch {
    return false;
  }
}

/** What a resumed run keeps of an earlier record (the id only of a job that may run on). */
export type EarlierJob = Pick<JobRecord, "index" | "dir" | "status" | "trial" | "jid">;

/** A twin found for a job fed now: one that finished, or one to adopt (still running). */
export type Twin = EarlierJob & { adopt: boolean };

// A record whose job may have finished: its metadir is kept for a twin that may come.
const MAY_HAVE_FINISHED = new Set(["FINISHED", "SKIPPED", "RUNNING", "SUBMITTED"]);

/**
 * The jobs earlier runs of a workdir finished, found by content: a job fed now whose twin
 * (same hash) finished is placed in that twin's metadir and skipped, wherever either stands
 * in its list; identical jobs are matched one to one. A job to run gets its own index as
 * its metadir's name, or a free name when that one holds a finished job's files, which are
 * never written over while a twin may still come.
 */
export class EarlierJobs {
  // Twins in the order found, only what is needed of each (100,000 records add up); a taken
  // one is set to null, and `next` skips those before it.
  #byHash = new Map<string, { records: (EarlierJob | null)[]; next: number; sorted: boolean }>();
  #kept = new Set<string>();
  #used = new Set<string>();
  #next = 0;
  #adoptable = new Set<string>();

  /**
   * Add an earlier run's record.
   *
   * @param record The record.
   */
  add(record: JobRecord): void {
    if (!MAY_HAVE_FINISHED.has(record.status)) return;
    const dir = recordDir(record);
    this.#kept.add(dir);
    this.#next = Math.max(this.#next, Number(dir) + 1 || 0);
    const kept: EarlierJob = {
      index: record.index,
      dir: record.dir,
      status: record.status,
      trial: record.trial,
      jid: record.status === "RUNNING" || record.status === "SUBMITTED" ? record.jid : "",
    };
    const twins = this.#byHash.get(record.hash);
    if (twins) twins.records.push(kept);
    else this.#byHash.set(record.hash, { records: [kept], next: 0, sorted: false });
  }

  /**
   * Which earlier jobs still run where they ran, and may be adopted by their twins.
   *
   * @param live The ids of the workdir's live jobs where it runs (`null`: none can be).
   * @returns The ids of the earlier records' jobs among them.
   */
  adoptable(live: ReadonlySet<string> | null): Set<string> {
    for (const twins of this.#byHash.values()) {
      for (const record of twins.records) {
        if (record?.jid && live?.has(record.jid)) this.#adoptable.add(record.jid);
      }
    }
    return new Set(this.#adoptable);
  }

  /**
   * Place a job fed now in its metadir.
   *
   * @param job The job (not yet written anywhere).
   * @param hash Its {@linkcode jobHash}.
   * @returns The record of a twin that finished earlier (the job is then in its metadir, to
   *   be skipped), or that still runs (`adopt`: the job is in its metadir, to take it
   *   over), or `null`.
   */
  place(job: Job, hash: string): Twin | null {
    const twins = this.#byHash.get(hash);
    // Identical jobs take their twins in the order of their metadirs (Kv lists them by name:
    // 10 before 2), so that each of a list run again finds its own.
    if (twins && !twins.sorted) {
      twins.records.sort((a, b) =>
        dirOrder(a!) - dirOrder(b!) || (a!.dir ?? "").localeCompare(b!.dir ?? "")
      );
      twins.sorted = true;
    }
    for (let at = twins?.next ?? 0; twins && at < twins.records.length; at++) {
      const record = twins.records[at];
      if (!record) continue;
      const dir = recordDir(record);
      if (this.#used.has(dir)) continue;
      job.placeIn(dir);
      const finished = finishedBefore(record, job);
      if (!finished && !this.#adoptable.has(record.jid)) continue;
      twins.records[at] = null;
      while (twins.next < twins.records.length && !twins.records[twins.next]) twins.next++;
      this.#used.add(dir);
      return { ...record, adopt: !finished };
    }
    job.placeIn(String(job.index));
    if (!this.#kept.size) return null;
    let dir = String(job.index);
    while (this.#kept.has(dir) || this.#used.has(dir)) dir = String(this.#next++);
    this.#used.add(dir);
    job.placeIn(dir);
    return null;
  }
}

/** A metadir's place among its twins': its number, or after all numbers. */
function dirOrder(record: EarlierJob): number {
  const number = Number(recordDir(record));
  return Number.isInteger(number) ? number : Infinity;
}
