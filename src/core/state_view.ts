// A workdir's state read from another process, without taking part in its run (`xqc
// status`, `logs`, `report`, `kill`): reads only, never a write.

import { join } from "@std/path/posix";
import type { JobRecord, RunRecord } from "./state.ts";

async function withKv<T>(workdir: string, read: (kv: Deno.Kv) => Promise<T>): Promise<T | null> {
  const path = join(workdir, "state.kv");
  try {
    await Deno.stat(path);
  } catch {
    return null;
  }
  const kv = await Deno.openKv(path);
  try {
    return await read(kv);
  } finally {
    kv.close();
  }
}

async function allJobs(kv: Deno.Kv): Promise<JobRecord[]> {
  const jobs: JobRecord[] = [];
  for await (const entry of kv.list<JobRecord>({ prefix: ["job"] })) jobs.push(entry.value);
  return jobs.sort((a, b) => a.index - b.index);
}

/**
 * Read a workdir's run record alone.
 *
 * @param workdir The workdir.
 * @returns The record, or `null` when the workdir has none.
 */
export async function readRunRecord(workdir: string): Promise<RunRecord | null> {
  return await withKv(workdir, async (kv) => (await kv.get<RunRecord>(["run"])).value);
}

/**
 * Read a workdir's state without taking part in its run (for `xqc status`).
 *
 * @param workdir The workdir.
 * @returns The run's record and the jobs', or `null` when the workdir has no state.
 */
export function readState(
  workdir: string,
): Promise<{ run: RunRecord | null; jobs: JobRecord[] } | null> {
  return withKv(workdir, async (kv) => ({
    run: (await kv.get<RunRecord>(["run"])).value,
    jobs: await allJobs(kv),
  }));
}

/**
 * Read a workdir's run record and some of its jobs' records, by index: as fast for a run of
 * 100,000 jobs as for ten.
 *
 * @param workdir The workdir.
 * @param indexes Which jobs (a missing one is left out).
 * @returns The run's record and those jobs', or `null` when the workdir has no state.
 */
export function readSomeJobs(
  workdir: string,
  indexes: readonly number[],
): Promise<{ run: RunRecord | null; jobs: JobRecord[] } | null> {
  return withKv(workdir, async (kv) => {
    const jobs: JobRecord[] = [];
    // Kv reads at most 10 keys at once.
    for (let at = 0; at < indexes.length; at += 10) {
      const keys = indexes.slice(at, at + 10).map((index) => ["job", index]);
      for (const entry of await kv.getMany<JobRecord[]>(keys)) {
        if (entry.value) jobs.push(entry.value);
      }
    }
    return { run: (await kv.get<RunRecord>(["run"])).value, jobs };
  });
}

/**
 * Every job record of a workdir, in index order, a batch at a time: for tables of any size.
 *
 * @param workdir The workdir.
 * @param each Called with each batch.
 * @param batch How many records a batch holds.
 */
export async function eachJobs(
  workdir: string,
  each: (jobs: JobRecord[]) => void,
  batch = 1000,
): Promise<void> {
  await withKv(workdir, async (kv) => {
    let jobs: JobRecord[] = [];
    for await (const entry of kv.list<JobRecord>({ prefix: ["job"] }, { batchSize: batch })) {
      jobs.push(entry.value);
      if (jobs.length >= batch) [each(jobs), jobs = []];
    }
    if (jobs.length) each(jobs);
  });
}

/**
 * Read one job's record of a workdir.
 *
 * @param workdir The workdir.
 * @param index The job's index.
 * @returns Its record, or `null` when the workdir has no state or no such job.
 */
export async function readJobState(workdir: string, index: number): Promise<JobRecord | null> {
  return (await readSomeJobs(workdir, [index]))?.jobs[0] ?? null;
}

/**
 * Record a run as stopped from outside it (`xqc kill --force` of a run of another host,
 * whose jobs it cancelled), so that the workdir is free for the next run.
 *
 * @param workdir The workdir.
 * @param by What stopped it, recorded as its signal.
 */
export async function markRunStopped(workdir: string, by: string): Promise<void> {
  await withKv(workdir, async (kv) => {
    const run = (await kv.get<RunRecord>(["run"])).value;
    if (run?.state !== "running") return;
    await kv.set(["run"], { ...run, state: "interrupted", signal: by, endedAt: Date.now() });
  });
}
