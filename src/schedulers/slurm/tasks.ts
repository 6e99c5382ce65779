// The job ids of Slurm's array tasks as squeue prints them.

/**
 * The job ids a line of `squeue %i` stands for: `123`, `123_4`, or the waiting tasks of an
 * array, `123_[1,3-5%2]`.
 *
 * @param field The field.
 * @returns The ids.
 * @example
 * ```ts
 * import { taskIds } from "./tasks.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(taskIds("12_[1,3-5%2]"), ["12_1", "12_3", "12_4", "12_5"]);
 * assertEquals(taskIds("12_7"), ["12_7"]);
 * ```
 */
export function taskIds(field: string): string[] {
  const match = /^(\d+)_\[([\d,-]+)(?:%\d+)?\]$/.exec(field);
  if (!match) return [field];
  const ids: string[] = [];
  for (const part of match[2].split(",")) {
    const [from, to = from] = part.split("-").map(Number);
    for (let task = from; task <= to; task++) ids.push(`${match[1]}_${task}`);
  }
  return ids;
}
