// A workdir's state read from another process, without taking part in its run (`xqc
// status`, `logs`, `report`, `kill`).

import { join } from "@std/path/posix";
import { type JobRecord, type RunRecord, StateStore } from "./state.ts";

async function withStore<T>(
  workdir: string,
  read: (store: StateStore) => Promise<T>,
): Promise<T | null> {
  try {
    await Deno.stat(join(workdir, "state.kv"));
  } catch {
    return null;
  }
  const store = await StateStore.open(workdir);
  try {
    return await read(store);
  } finally {
    await store.close();
  }
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
  return withStore(workdir, async (store) => ({
    run: await store.readRun(),
    jobs: await store.readJobs(),
  }));
}

/**
 * Read one job's record of a workdir.
 *
 * @param workdir The workdir.
 * @param index The job's index.
 * @returns Its record, or `null` when the workdir has no state or no such job.
 */
export async function readJobState(workdir: string, index: number): Promise<JobRecord | null> {
  return await withStore(workdir, (store) => store.readJob(index));
}
