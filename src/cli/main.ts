// The `xqc` command line: dispatch to a command, and map errors to exit codes in one place.

import { ValidationError, XqcError } from "../core/errors.ts";
import { VERSION } from "../core/version.ts";
import { HELP } from "./help.ts";
import { type Io, stdio } from "./io.ts";
import { commandKill } from "./kill.ts";
import { commandLogs } from "./logs.ts";
import { commandReport } from "./report.ts";
import { commandRun } from "./run.ts";
import { commandStatus } from "./status.ts";

const COMMANDS: Record<string, (args: string[], io: Io) => Promise<number>> = {
  run: commandRun,
  status: commandStatus,
  logs: commandLogs,
  kill: commandKill,
  report: commandReport,
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
    if (command !== undefined && command in COMMANDS) return await COMMANDS[command](rest, io);
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
