// Text from a job or a user made safe for a terminal: control characters shown escaped.

// C0 and C1 controls, DEL, and the line and paragraph separators; "\n" and "\t" included:
// a command is shown on one line.
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\e" };

/**
 * Show a text on one line with every control character escaped (`\e`, `\n`, `\x07`,
 * `\u2028`), so that escape sequences in it cannot move the cursor, change the colors or
 * retitle a terminal. A backslash is left as it is.
 *
 * @param text The text.
 * @returns The text, safe to print.
 * @example
 * ```ts
 * import { printable } from "./printable.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(printable("echo \x1b[2Jhi\n"), "echo \\e[2Jhi\\n");
 * ```
 */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => {
    if (NAMED[c]) return NAMED[c];
    const code = c.charCodeAt(0);
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/**
 * Show a job's output for a terminal: its lines kept, other control characters (escape
 * sequences, a carriage return that redraws a line) escaped.
 *
 * @param text The output.
 * @returns The output, safe to print.
 */
export function printableLines(text: string): string {
  return text.split("\n").map(printable).join("\n");
}
