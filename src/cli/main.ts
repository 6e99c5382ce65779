// The `xqc` command line: dispatch to a command, and map errors to exit codes in one place.

import { ValidationError, XqcError } from "../core/errors.ts";
import { VERSION } from "../core/version.ts";
import { HELP } from "./help.ts";
import { type Io, stdio } from "./io.ts";

/** A command: its arguments in, its exit code out. */
type Command = (args: string[], io: Io) => Promise<number>;

// Each command's modules load when it runs, so `xqc status` does not compile the
// schedulers, nor `xqc run` the report's page.
const COMMANDS: Record<string, () => Promise<Command>> = {
  run: async () => (await import("./run.ts")).commandRun,
  status: async () => (await import("./status.ts")).commandStatus,
  logs: async () => (await import("./logs.ts")).commandLogs,
  kill: async () => (await import("./kill.ts")).commandKill,
  report: async () => (await import("./report.ts")).commandReport,
};

/**
 * Run the `xqc` command line.
 *
 * @param args The arguments (without the program's name).
 * @param io Where output goes (stdout, stderr).
 * @returns The exit code.
 */
export async function main(args: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command !== undefined && command in COMMANDS) {
      return await (await COMMANDS[command]())(rest, io);
    }
    switch (command) {
      case "--version":
      case "-V":
        io.out(`xqc ${VERSION}\n`);
        return 0;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(HELP.main + "\n");
        return command === undefined ? 2 : 0;
      default:
        throw new ValidationError(
          `Unknown command "${command}" (expected ${Object.keys(COMMANDS).join(", ")})`,
        );
    }
  } catch (e) {
    if (e instanceof XqcError) {
      io.err(`xqc: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`xqc: internal error: ${e instanceof Error ? e.stack ?? e.message : e}\n`);
    return 1;
  }
}
