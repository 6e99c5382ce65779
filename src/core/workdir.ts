// Claiming a workdir for one run at a time, with a lock the kernel drops when its owner dies.

import { join } from "@std/path/posix";
import { ValidationError, WorkdirBusyError } from "./errors.ts";

/** The lock file in a workdir; it holds the owner's pid. */
export const LOCK_FILE = "run.lock";

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
    const owner = await lockOwner(workdir);
    throw new WorkdirBusyError(
      `Workdir "${workdir}" is in use by the run of process ${owner ?? "(unknown)"}; ` +
        `wait for it, or stop it with: xqc kill -w ${workdir}`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
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

/**
 * The pid of the run that holds a workdir, if one does.
 *
 * @param workdir The workdir.
 * @returns The pid, or `null` when no live run holds it.
 */
export async function lockOwner(workdir: string): Promise<number | null> {
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
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } finally {
    file.close();
  }
}
