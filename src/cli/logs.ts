// `xqc logs`: a job's stdout or stderr, and with --follow its new lines while it runs.

import { recordDir } from "../core/state.ts";
import { readJobState } from "../core/state_view.ts";
import { describeFile, readJobBytes } from "../core/job_files.ts";
import { printableLines } from "../core/printable.ts";
import { delay } from "@std/async/delay";
import { join } from "@std/path/posix";
import { ValidationError } from "../core/errors.ts";
import { lockOwner } from "../core/workdir.ts";
import { existingWorkdir, parseFlags } from "./flags.ts";
import { HELP } from "./help.ts";
import type { Io } from "./io.ts";

/**
 * `xqc logs`.
 *
 * @param args The arguments after `logs`.
 * @param io Where output goes.
 * @returns The exit code.
 */
export async function commandLogs(args: string[], io: Io): Promise<number> {
  const flags = parseFlags(args, {
    string: ["workdir"],
    boolean: ["stderr", "follow"],
    alias: { w: "workdir" },
  }, "logs");
  if (flags.help) {
    io.out(HELP.logs + "\n");
    return 0;
  }
  const index = String(flags._[0] ?? "");
  if (!/^\d+$/.test(index)) throw new ValidationError(`xqc logs needs a job INDEX, not "${index}"`);
  const workdir = await existingWorkdir(flags);
  // A job --resume found finished elsewhere has its files where its twin left them.
  const record = await readJobState(workdir, Number(index));
  const metadir = join(workdir, record ? recordDir(record) : index);
  try {
    if (!Deno.lstatSync(metadir).isDirectory) throw new Error();
  } catch {
    throw new ValidationError(`Job ${index} does not exist in workdir "${workdir}"`);
  }
  const path = join(metadir, flags.stderr ? "job.stderr" : "job.stdout");
  const rcFile = join(metadir, "job.rc");
  let offset = 0;
  const decoder = new TextDecoder();
  // The job wrote these: a link or a FIFO is refused, never followed; on a terminal its
  // escape sequences are shown, not run.
  const show = Deno.stdout.isTerminal() ? printableLines : (text: string) => text;
  const printNew = () => {
    for (;;) {
      const bytes = readJobBytes(path, offset, 64 * 1024);
      if (!bytes?.length) return;
      offset += bytes.length;
      io.out(show(decoder.decode(bytes, { stream: true })));
    }
  };
  for (;;) {
    printNew();
    if (!flags.follow) return 0;
    const ended = describeFile(rcFile) !== "gone";
    if (ended || (await lockOwner(workdir)) === null) {
      printNew();
      return 0;
    }
    await delay(200);
  }
}
