// `xqc logs`: a job's stdout or stderr, and with --follow its new lines while it runs.

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
  const metadir = join(workdir, index);
  try {
    await Deno.stat(metadir);
  } catch {
    throw new ValidationError(`Job ${index} does not exist in workdir "${workdir}"`);
  }
  const path = join(metadir, flags.stderr ? "job.stderr" : "job.stdout");
  const rcFile = join(metadir, "job.rc");
  let offset = 0;
  const decoder = new TextDecoder();
  const printNew = async () => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
    } catch {
      return;
    }
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      const buffer = new Uint8Array(64 * 1024);
      for (;;) {
        const n = await file.read(buffer);
        if (n === null) break;
        offset += n;
        io.out(decoder.decode(buffer.subarray(0, n), { stream: true }));
      }
    } finally {
      file.close();
    }
  };
  for (;;) {
    await printNew();
    if (!flags.follow) return 0;
    const ended = await Deno.stat(rcFile).then(() => true, () => false);
    if (ended || (await lockOwner(workdir)) === null) {
      await printNew();
      return 0;
    }
    await delay(200);
  }
}
