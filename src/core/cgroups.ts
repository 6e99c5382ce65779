// Per-job cgroups that a run makes for jobs that have none of their own (local and
// apptainer jobs), so that the kernel counts their peak memory and CPU time: made before a
// trial, joined by its wrapper, emptied and removed after it, and reaped after a crash.

import { delay } from "@std/async/delay";
import { join } from "@std/path/posix";

/** The cgroup v1 hierarchies a job's counters live in. */
const CONTROLLERS = ["memory", "cpuacct"] as const;
const ROOT = "/sys/fs/cgroup";

/** The cgroup folders of one trial, one per controller. */
export type TrialCgroup = string[];

function writable(dir: string): boolean {
  try {
    const probe = join(dir, `.xqc-probe-${Deno.pid}`);
    Deno.mkdirSync(probe);
    Deno.removeSync(probe);
    return true;
  } catch {
    return false;
  }
}

let usable: boolean | undefined;

/**
 * Whether this process can make cgroups (root, with the v1 memory and cpuacct hierarchies
 * mounted and writable).
 *
 * @returns `true` when it can.
 */
export function cgroupsUsable(): boolean {
  usable ??= Deno.uid() === 0 && CONTROLLERS.every((c) => writable(join(ROOT, c)));
  return usable;
}

/**
 * The folder of a run's cgroups under one controller.
 *
 * @param controller `memory` or `cpuacct`.
 * @param stem What names the workdir (a hash).
 * @returns The folder.
 */
function stemDir(controller: string, stem: string): string {
  return join(ROOT, controller, "xqc", stem);
}

/**
 * Make a trial's cgroups.
 *
 * @param stem What names the workdir (a hash), so a later run can find leftovers.
 * @param name The trial's name (`<index>-<trial>`).
 * @returns Its folders, or `null` when cgroups cannot be made.
 */
export function makeTrialCgroup(stem: string, name: string): TrialCgroup | null {
  if (!cgroupsUsable()) return null;
  const dirs = CONTROLLERS.map((c) => join(stemDir(c, stem), name));
  try {
    for (const dir of dirs) Deno.mkdirSync(dir, { recursive: true });
    return dirs;
  } catch {
    removeTrialCgroup(dirs).catch(() => {});
    return null;
  }
}

/**
 * Reset the peak memory of a v1 memory cgroup (a pool's container, between two jobs), so
 * that the next job's peak is its own.
 *
 * @param path The cgroup's path in the memory hierarchy, as /proc/PID/cgroup says it.
 * @returns Whether it was reset (root, cgroup v1, a path this host sees).
 */
export function resetMemoryPeak(path: string): boolean {
  try {
    Deno.writeTextFileSync(join(ROOT, "memory", path, "memory.max_usage_in_bytes"), "0");
    return true;
  } catch {
    return false;
  }
}

function tasks(dir: string): number[] {
  try {
    return Deno.readTextFileSync(join(dir, "cgroup.procs")).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Make a trial cgroup that an earlier trial used ready for the next: empty, its CPU count
 * set to 0 and its memory peak to its usage now (the page cache earlier jobs left is charged
 * to it until the kernel reclaims it, so a job's peak is counted from that usage). A cgroup
 * is used again because a removed memory cgroup lingers in the kernel while pages are
 * charged to it, and thousands of those slow down every cgroup made after them.
 *
 * @param dirs The trial cgroup.
 * @returns The memory usage the job's peak counts from, in bytes; `null` when the cgroup
 *   cannot be used again (a task is still in it, or a write failed).
 */
export function reuseTrialCgroup(dirs: TrialCgroup): number | null {
  if (dirs.some((dir) => tasks(dir).length)) return null;
  try {
    let base = 0;
    for (const dir of dirs) {
      if (dir.startsWith(join(ROOT, "cpuacct"))) {
        Deno.writeTextFileSync(join(dir, "cpuacct.usage"), "0");
      } else {
        Deno.writeTextFileSync(join(dir, "memory.max_usage_in_bytes"), "0");
        base = Number(Deno.readTextFileSync(join(dir, "memory.max_usage_in_bytes")).trim());
      }
    }
    return Number.isFinite(base) ? base : null;
  } catch {
    return null;
  }
}

/**
 * Remove a trial's cgroups; what still runs in them (a process that left the job's group
 * or session) is killed first, so nothing of the job outlives it.
 *
 * @param dirs Its folders.
 * @returns Whether they are gone.
 */
export async function removeTrialCgroup(dirs: TrialCgroup): Promise<boolean> {
  let gone = true;
  for (const dir of dirs) {
    for (const pid of tasks(dir)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // Gone already.
      }
    }
    // A killed task leaves its cgroup a moment after it is killed: try again until then.
    for (let attempt = 0;; attempt++) {
      try {
        Deno.removeSync(dir);
        break;
      } catch (e) {
        if (e instanceof Deno.errors.NotFound) break;
        if (attempt === 50) {
          gone = false;
          break;
        }
        await delay(20);
      }
    }
  }
  return gone;
}

/**
 * Remove the cgroups of a workdir's runs: what a crashed run left (after kill -9), or
 * what a run leaves at its end (its folder).
 *
 * @param stem What names the workdir.
 * @returns How many trials' cgroups were removed.
 */
export async function reapCgroups(stem: string): Promise<number> {
  let count = 0;
  const names = new Set<string>();
  for (const controller of CONTROLLERS) {
    try {
      for (const entry of Deno.readDirSync(stemDir(controller, stem))) {
        if (entry.isDirectory) names.add(entry.name);
      }
    } catch {
      // None there.
    }
  }
  for (const name of names) {
    await removeTrialCgroup(CONTROLLERS.map((c) => join(stemDir(c, stem), name)));
    count++;
  }
  // The run's folder, then the one all runs share, when no other run uses them.
  for (const controller of CONTROLLERS) {
    for (const dir of [stemDir(controller, stem), join(ROOT, controller, "xqc")]) {
      try {
        Deno.removeSync(dir);
      } catch {
        // Not there, or in use.
      }
    }
  }
  return count;
}
