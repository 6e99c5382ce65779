// Exclusive file locks (flock) around work that only one process may do at a time.

import { dirname } from "@std/path/posix";

/**
 * Run a function while holding an exclusive lock on a file (created if needed). The
 * kernel drops the lock if this process dies.
 *
 * @param path The lock file.
 * @param fn The work.
 * @returns What the work returns.
 */
export async function withFileLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const file = await Deno.open(path, { write: true, create: true, mode: 0o644 });
  try {
    await file.lock(true);
    return await fn();
  } finally {
    file.close();
  }
}
