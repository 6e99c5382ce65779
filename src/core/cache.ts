// Where xqc keeps what outlives a run: pulled SIF images, digests, locks.

import { join } from "@std/path/posix";

/**
 * The cache folder: `$XDG_CACHE_HOME/xqc`, or `~/.cache/xqc`.
 *
 * @returns Its path (not created).
 */
export function cacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? "/tmp";
  return join(xdg || join(home, ".cache"), "xqc");
}
