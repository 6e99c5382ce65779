// Durations for people, through std's formatter, rounded to what a person reads.

import { format } from "@std/fmt/duration";

/**
 * Format a duration for people.
 *
 * @param ms Milliseconds.
 * @returns Such as `"850ms"`, `"1s 200ms"` or `"3m 4s"`.
 */
export function formatDuration(ms: number): string {
  const rounded = ms >= 60_000
    ? Math.round(ms / 1000) * 1000
    : ms >= 1000
    ? Math.round(ms / 100) * 100
    : Math.round(ms);
  return rounded === 0 ? "0ms" : format(rounded, { ignoreZero: true }) as string;
}
