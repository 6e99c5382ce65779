// `xqc report`: one self-contained HTML file of a run: summary, timeline, usage, failures.

import { resolve } from "@std/path/posix";
import { ValidationError } from "../core/errors.ts";
import { collectReport } from "../report/data.ts";
import { renderReport } from "../report/html.ts";
import { existingWorkdir, flagString, parseFlags } from "./flags.ts";
import { HELP } from "./help.ts";
import type { Io } from "./io.ts";

/**
 * `xqc report`.
 *
 * @param args The arguments after `report`.
 * @param io Where output goes.
 * @returns The exit code.
 */
export async function commandReport(args: string[], io: Io): Promise<number> {
  const flags = parseFlags(args, {
    string: ["workdir", "output"],
    alias: { w: "workdir", o: "output" },
  }, "report");
  if (flags.help) {
    io.out(HELP.report + "\n");
    return 0;
  }
  const workdir = await existingWorkdir(flags);
  const data = await collectReport(workdir);
  if (!data) throw new ValidationError(`Workdir "${workdir}" has no run state (state.kv)`);
  const output = resolve(flagString(flags, "output") ?? "report.html");
  const part = `${output}.part`;
  await Deno.writeTextFile(part, renderReport(data));
  await Deno.rename(part, output);
  io.err(`xqc: wrote ${output} (${data.jobs.length} job(s), ${data.trials.length} trial(s))\n`);
  return 0;
}
