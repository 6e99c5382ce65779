// Where the library's messages go: stderr by default, or wherever an embedding program says.

/** Receives the library's messages (leftovers stopped, hook failures, state-write trouble). */
export interface Logger {
  /** Something the user should know, not a problem. */
  info(message: string): void;
  /** Something went wrong but the run goes on. */
  warn(message: string): void;
}

/**
 * The default logger: one `xqc: ` line per message on stderr.
 *
 * @example
 * ```ts
 * import { stderrLogger } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 * assertEquals(typeof stderrLogger.warn, "function");
 * ```
 */
export const stderrLogger: Logger = {
  info: (message) => writeLine(message),
  warn: (message) => writeLine(message),
};

/** A logger that drops every message. */
export const silentLogger: Logger = { info: () => {}, warn: () => {} };

const encoder = new TextEncoder();

function writeLine(message: string): void {
  const bytes = encoder.encode(`xqc: ${message}\n`);
  let written = 0;
  try {
    while (written < bytes.length) written += Deno.stderr.writeSync(bytes.subarray(written));
  } catch {
    // stderr is closed (the terminal went away): nothing to tell.
  }
}
