// Claiming a workdir for one run at a time, with a lock the kernel drops when its owner dies.

import { join } from "@std/path/posix";
import { ValidationError, WorkdirBusyError } from "./errors.ts";
import { readRunRecord } from "./state_view.ts";

/** The lock file in a workdir; it holds the owner's pid and host. */
export const LOCK_FILE = "run.lock";

/** The run that holds a workdir: its process and the host it runs on. */
export interface RunHolder {
  /** Its pid, on its host. */
  pid: number;
  /** Its host's name (`null` for a lock an older version wrote). */
  host: string | null;
}

/**
 * Whether a run holder is on another host than this one (its pid means nothing here).
 *
 * @param holder The holder.
 * @returns `true` for another host.
 */
export function onAnotherHost(holder: RunHolder): boolean {
  return holder.host !== null && holder.host !== Deno.hostname();
}

/** A claimed workdir; `release()` lets the next run in. */
export interface WorkdirClaim {
  /** Drop the claim. */
  release(): void;
}

/**
 * Check that a workdir can be used: it is a directory, or does not exist yet.
 *
 * @param workdir The workdir.
 * @throws {ValidationError} When it is a file.
 */
export async function checkWorkdir(workdir: string): Promise<void> {
  try {
    const info = await Deno.stat(workdir);
    if (!info.isDirectory) throw new ValidationError(`Workdir "${workdir}" is not a directory`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/**
 * Create a workdir if needed and take its lock, so that no other run uses it at once.
 * A run that crashed holds no lock: the kernel drops it with the process.
 *
 * @param workdir The workdir.
 * @returns The claim.
 * @throws {WorkdirBusyError} When a live run holds the workdir.
 */
export async function claimWorkdir(workdir: string): Promise<WorkdirClaim> {
  await checkWorkdir(workdir);
  await Deno.mkdir(workdir, { recursive: true });
  const path = join(workdir, LOCK_FILE);
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  if (!(await file.tryLock(true))) {
    file.close();
    throw busy(workdir, await lockOwner(workdir));
  }
  // A lock on a shared filesystem may hold only on its own host: the run record says
  // whether a run of another host still runs.
  const run = await liveRunElsewhere(workdir);
  if (run) {
    file.close();
    throw busy(workdir, run);
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid} ${Deno.hostname()}\n`));
  return {
    release() {
      try {
        file.close();
      } catch {
        // Already closed.
      }
    },
  };
}

function busy(workdir: string, holder: RunHolder | null): WorkdirBusyError {
  if (holder && onAnotherHost(holder)) {
    return new WorkdirBusyError(
      `Workdir "${workdir}" is in use by the run of process ${holder.pid} on host ` +
        `${holder.host}; stop it there, or cancel its cluster jobs from here with: ` +
        `xqc kill --force -w ${workdir}`,
    );
  }
  return new WorkdirBusyError(
    `Workdir "${workdir}" is in use by the run of process ${holder?.pid ?? "(unknown)"}; ` +
      `wait for it, or stop it with: xqc kill -w ${workdir}`,
  );
}

/**
 * The run of another host that a workdir's run record says still runs, if any.
 *
 * @param workdir The workdir.
 * @returns Its process and host.
 */
export async function liveRunElsewhere(workdir: string): Promise<RunHolder | null> {
  const run = await readRunRecord(workdir).catch(() => null);
  if (!run || run.state !== "running") return null;
  const holder = { pid: run.pid, host: run.hostname };
  return onAnotherHost(holder) ? holder : null;
}

/**
 * The run that holds a workdir's lock, if one does.
 *
 * @param workdir The workdir.
 * @returns Its pid and host, or `null` when no live run holds it.
 */
export async function lockOwner(workdir: string): Promise<RunHolder | null> {
  const path = join(workdir, LOCK_FILE);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, write: true });
  } catch {
    return null;
  }
  try {
    if (await file.tryLock(true)) {
      await file.unlock();
      return null;
    }
    const [pid, host] = (await Deno.readTextFile(path)).trim().split(/\s+/);
    const number = Number(pid);
    return Number.isInteger(number) && number > 0 ? { pid: number, host: host ?? null } : null;
  } finally {
    file.close();
  }
}
