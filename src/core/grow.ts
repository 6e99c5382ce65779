// Typed arrays indexed by job index, grown as a run is fed: a few bytes a job where a map
// entry would take a hundred.

/** A typed array that can be made anew at a length. */
type Growable =
  | Uint8Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Int32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>;

/**
 * The array itself when it holds `length` items, otherwise a copy at least twice as long.
 *
 * @param array The array.
 * @param length How many items it must hold.
 * @returns An array that holds them.
 * @example
 * ```ts
 * import { grown } from "./grow.ts";
 * import { assertEquals } from "@std/assert";
 * const array = grown(new Uint8Array([1, 2]), 5);
 * assertEquals([array.length, array[1]], [5, 2]);
 * ```
 */
export function grown<T extends Growable>(array: T, length: number): T {
  if (length <= array.length) return array;
  const copy = new (array.constructor as new (length: number) => T)(
    Math.max(length, array.length * 2),
  );
  copy.set(array);
  return copy;
}
