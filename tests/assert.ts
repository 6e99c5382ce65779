// @std/assert with explicit types: its npm build ships none, so the boundary gives them.

import * as std from "@std/assert";

type ErrorClass = abstract new (...args: never[]) => Error;

/** Assert that a value is truthy. */
export const assert: (expr: unknown, msg?: string) => asserts expr = std.assert;
/** Assert deep equality. */
export const assertEquals: <T>(actual: T, expected: T, msg?: string) => void = std.assertEquals;
/** Assert deep inequality. */
export const assertNotEquals: <T>(actual: T, expected: T, msg?: string) => void =
  std.assertNotEquals;
/** Assert that a string contains another. */
export const assertStringIncludes: (actual: string, expected: string, msg?: string) => void =
  std.assertStringIncludes;
/** Assert that a string matches a pattern. */
export const assertMatch: (actual: string, expected: RegExp, msg?: string) => void =
  std.assertMatch;
/** Assert that a function throws. */
export const assertThrows: (
  fn: () => unknown,
  errorClass?: ErrorClass,
  msgIncludes?: string,
) => Error = std.assertThrows;
/** Assert that an async function rejects. */
export const assertRejects: (
  fn: () => PromiseLike<unknown>,
  errorClass?: ErrorClass,
  msgIncludes?: string,
) => Promise<Error> = std.assertRejects;
