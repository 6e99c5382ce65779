// What a trial of a job used, as its wrapper measured it (job.usage) or the run sampled it.

import { readJobFile } from "./job_files.ts";

/** A trial's times and usage. */
export interface JobUsage {
  /** When its command started (ms since the epoch), as the wrapper saw it. */
  startedAt: number | null;
  /** When its command ended. */
  endedAt: number | null;
  /** Its peak memory, in bytes. */
  peakRss: number | null;
  /** Its CPU time (user + system), in ms. */
  cpuMs: number | null;
  /**
   * How the peak was measured: `cgroup` (the kernel's count for the job's own cgroup),
   * `sampled` (the largest sum of VmHWM seen in /proc while it ran), or `none`.
   */
  measured: "cgroup" | "sampled" | "none";
}

function number(text: string | undefined, scale = 1): number | null {
  if (!text || !/^\d+(\.\d+)?$/.test(text)) return null;
  return Math.round(Number(text) * scale);
}

/**
 * Read `job.usage` as the wrapper writes it (`key=value` lines; times as bash's
 * EPOCHREALTIME, seconds with microseconds).
 *
 * @param text The file's text.
 * @returns The usage.
 * @example
 * ```ts
 * import { parseUsage } from "./usage.ts";
 * import { assertEquals } from "@std/assert";
 * const usage = parseUsage("start=1700000000.5\nend=1700000002.5\npeak_rss=2048\ncpu_ms=1900\nmeasured=cgroup\n");
 * assertEquals([usage.endedAt! - usage.startedAt!, usage.peakRss, usage.cpuMs], [2000, 2048, 1900]);
 * ```
 */
export function parseUsage(text: string): JobUsage {
  const fields = Object.fromEntries(
    text.split("\n").map((line) => line.split("=")).filter((kv) => kv.length === 2),
  );
  const peakRss = number(fields.peak_rss);
  return {
    startedAt: number(fields.start, 1000),
    endedAt: number(fields.end, 1000),
    peakRss,
    cpuMs: number(fields.cpu_ms),
    measured: peakRss !== null && fields.measured === "cgroup" ? "cgroup" : "none",
  };
}

/**
 * Read a trial's `job.usage`, with a peak sampled by the run when the wrapper had none.
 *
 * @param path The file.
 * @param sampledPeak The peak the run sampled, if it did.
 * @returns The usage, or `null` when there is no file.
 * @throws {UnsafeFileError} When the job put something else than a file there.
 */
export function readUsage(path: string, sampledPeak?: number): JobUsage | null {
  let usage: JobUsage;
  const text = readJobFile(path, 4096);
  if (text !== null) usage = parseUsage(text);
  else if (sampledPeak === undefined) return null;
  else usage = { startedAt: null, endedAt: null, peakRss: null, cpuMs: null, measured: "none" };
  if (usage.peakRss === null && sampledPeak !== undefined) {
    usage.peakRss = sampledPeak;
    usage.measured = "sampled";
  }
  return usage;
}
