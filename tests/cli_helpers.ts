// Running the real `xqc` as a subprocess, for the command-line tests.

import { fromFileUrl } from "@std/path";
import { runningJobs, waitFor } from "./helpers.ts";

/**
 * The cli.ts these tests run: this checkout's, or another's named by XQC_TEST_CLI (to see
 * a test fail on an older main, with that checkout's deno.json beside its cli.ts).
 */
export const CLI = Deno.env.get("XQC_TEST_CLI") ??
  fromFileUrl(new URL("../cli.ts", import.meta.url));
const CONFIG = CLI.replace(/cli\.ts$/, "deno.json");

/** What a finished `xqc` printed and returned. */
export interface XqcResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The argv that runs `xqc`. */
export function xqcArgv(args: string[]): string[] {
  return [Deno.execPath(), "run", "-A", "--config", CONFIG, CLI, ...args];
}

/** Run `xqc` to its end. */
export async function xqc(
  args: string[],
  options: { cwd?: string; stdin?: string; env?: Record<string, string> } = {},
): Promise<XqcResult> {
  const argv = xqcArgv(args);
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Start `xqc` and leave it running. */
export function startXqc(
  args: string[],
  cwd?: string,
  env: Record<string, string> = {},
): Deno.ChildProcess {
  const argv = xqcArgv(args);
  return new Deno.Command(argv[0], {
    args: argv.slice(1),
    cwd,
    env: { NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Collect what a started `xqc` prints, and its exit code. */
export async function finish(child: Deno.ChildProcess): Promise<XqcResult> {
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/**
 * Start `xqc run` and wait until `count` of its jobs run (read from its Kv state, as
 * `xqc status` would).
 */
export async function startRunning(
  args: string[],
  workdir: string,
  count: number,
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Deno.ChildProcess> {
  const child = startXqc(args, options.cwd, options.env);
  await waitFor(
    `${count} running job(s) in ${workdir}`,
    async () => (await runningJobs(workdir)) === count,
    30000,
  );
  return child;
}

/** Whether a process exists. */
export async function alive(pid: number): Promise<boolean> {
  return await Deno.stat(`/proc/${pid}`).then(() => true, () => false);
}
