// The `xqc` command line: run, status, logs and kill, on top of the library.

import { parseArgs } from "@std/cli";
import { join, resolve } from "@std/path";
import { ValidationError, XqcError } from "./src/errors.ts";
import { formatDuration, type ProgressMode, progressReporter } from "./src/progress.ts";
import { shellJoin } from "./src/shell.ts";
import {
  type BatchSpec,
  checkSpecValue,
  type JobSpec,
  loadSpecFile,
  parseJobsText,
  xquteOptionsOf,
} from "./src/spec.ts";
import { type JobRecord, readState, type RunRecord } from "./src/state.ts";
import { jobStatusName } from "./src/status.ts";
import type { RunSummary } from "./src/summary.ts";
import { lockOwner } from "./src/workdir.ts";
import { Xqute } from "./src/xqute.ts";
import { isEnvName } from "./src/job.ts";
import { reapLeftovers } from "./src/orphans.ts";
import { VERSION } from "./src/version.ts";

/** The version of this package. */

const HELP = {
  main: `xqc ${VERSION}: run batches of shell jobs in containers (docker, podman, apptainer)

Usage:
  xqc run [options] [-- COMMAND...]   run one command, a jobs file or a YAML spec
  xqc status [-w DIR] [--json] [--watch]
  xqc logs INDEX [-w DIR] [--stderr] [--follow]
  xqc kill [-w DIR]

  xqc COMMAND --help    the options of a command
  xqc --version

Exit codes: 0 all jobs succeeded, 1 a job failed or was killed, 2 bad usage or spec,
3 engine, daemon or image unavailable, 130/143 interrupted by SIGINT/SIGTERM.`,
  run: `Usage: xqc run [options] [-- COMMAND...]

Jobs (one of):
  -- COMMAND...            one job: the command and its arguments, passed literally
  -j, --jobs FILE          one job per line, split as a shell splits words; "-" reads stdin
  -f, --file SPEC.yaml     a YAML spec: these options in camelCase, and "jobs"; flags override it

Options:
  -i, --image IMAGE        the image (docker/podman name; apptainer .sif, folder or URI)
  -b, --bin BIN            the engine: docker, podman, apptainer/singularity, or a path (default docker)
  -n, --forks N            jobs at once (default 1)
  -w, --workdir DIR        metadirs and state (default ./.xqute)
  -v, --volume VOL         host:container[:ro] or NAME=/host/path; repeat
  -e, --env K=V            an environment variable for every job (K alone: from here); repeat
      --user UID[:GID]     the container user (docker/podman; default yours)
      --no-remove          keep the containers (no --rm)
      --entrypoint PROG    what runs the job script in the container (default /bin/bash)
      --bin-arg ARG        an extra engine argument, before the image; repeat
      --cwd DIR            where jobs start, inside the container
      --volume-as-cwd DIR  mount DIR at /mnt/disks/.cwd and start jobs there
      --error-strategy S   ignore, retry or halt (default ignore)
      --num-retries N      retries per job with retry (default 3)
      --timeout SECONDS    stop a job's command after this long (rc 124)
      --prescript BASH     run before each job's command
      --postscript BASH    run after each job's command
      --scheduler NAME     container (default) or local (bash on this host)
      --resume             skip jobs that finished in this workdir with the same command, envs, image
      --dry-run            print each job's engine command; start nothing
      --json               print the run summary as JSON on stdout
      --quiet              print only errors`,
  status: `Usage: xqc status [-w DIR] [--json] [--watch]

Show the run of a workdir and its jobs, from its state (works while it runs).
  -w, --workdir DIR   the workdir (default ./.xqute)
      --json          print {run, jobs} as JSON
      --watch         refresh every second until the run ends`,
  logs: `Usage: xqc logs INDEX [-w DIR] [--stderr] [--follow]

Print a job's stdout (or stderr).
  -w, --workdir DIR   the workdir (default ./.xqute)
      --stderr        print job.stderr instead
      --follow        keep printing while the job runs`,
  kill: `Usage: xqc kill [-w DIR]

Stop the run that owns the workdir (its containers are killed), and remove any container
a crashed run of it left.
  -w, --workdir DIR   the workdir (default ./.xqute)`,
};

/** Where `xqc` writes: stdout, stderr, and whether stderr is a terminal. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  errIsTerminal: boolean;
}

const encoder = new TextEncoder();
const stdio: Io = {
  out: (text) => writeAll(Deno.stdout, text),
  err: (text) => writeAll(Deno.stderr, text),
  errIsTerminal: Deno.stderr.isTerminal(),
};

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

type Flags = Record<string, unknown> & { _: (string | number)[]; "--"?: string[] };

function parseFlags(
  args: string[],
  spec: {
    string?: string[];
    boolean?: string[];
    collect?: string[];
    alias?: Record<string, string>;
  },
  command: string,
  stopEarly = false,
): Flags {
  const known = new Set([
    ...(spec.string ?? []),
    ...(spec.boolean ?? []),
    ...(spec.collect ?? []),
    ...Object.keys(spec.alias ?? {}),
    "help",
    "h",
  ]);
  // A negative number after an option is its value, not an option: `-n -1` is `--forks=-1`.
  const takesValue = new Set(spec.string ?? []);
  const longName = (flag: string) =>
    flag.startsWith("--") ? flag.slice(2) : spec.alias?.[flag.slice(1)] ?? flag.slice(1);
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      joined.push(...args.slice(i));
      break;
    }
    if (
      /^--?[A-Za-z][\w-]*$/.test(arg) && takesValue.has(longName(arg)) &&
      /^-\d/.test(args[i + 1] ?? "")
    ) {
      joined.push(`--${longName(arg)}=${args[++i]}`);
    } else joined.push(arg);
  }
  return parseArgs(joined, {
    string: spec.string,
    boolean: [...(spec.boolean ?? []), "help"],
    collect: spec.collect,
    alias: { ...(spec.alias ?? {}), h: "help" },
    stopEarly,
    "--": true,
    unknown: (arg: string, key?: string) => {
      if (key !== undefined && !known.has(key) && !known.has(key.replace(/^no-/, ""))) {
        throw new ValidationError(
          `Unknown option "${arg.split("=")[0]}" for "xqc ${command}" (see xqc ${command} --help)`,
        );
      }
      return true;
    },
  }) as Flags;
}

function flagString(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    throw new ValidationError(`Option --${name} is given more than once`);
  }
  if (typeof value !== "string" || value === "") {
    throw new ValidationError(`Option --${name} needs a value`);
  }
  return value;
}

function flagNumber(
  flags: Flags,
  name: string,
  key: keyof BatchSpec,
  integer: boolean,
): number | undefined {
  const text = flagString(flags, name);
  if (text === undefined) return undefined;
  const value = integer
    ? (/^-?\d+$/.test(text) ? Number(text) : NaN)
    : (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN);
  checkSpecValue(key, Number.isNaN(value) ? text : value, `Option --${name}`);
  return value;
}

function flagList(flags: Flags, name: string): string[] | undefined {
  const value = flags[name];
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  const list = Array.isArray(value) ? value : [value];
  return list.map((item) => {
    if (typeof item !== "string" || item === "") {
      throw new ValidationError(`Option --${name} needs a value`);
    }
    return item;
  });
}

function parseEnvFlag(text: string): [string, string] {
  const at = text.indexOf("=");
  const name = at < 0 ? text : text.slice(0, at);
  if (!isEnvName(name)) {
    throw new ValidationError(`Option --env "${text}": bad env name "${name}"`);
  }
  if (at >= 0) return [name, text.slice(at + 1)];
  const value = Deno.env.get(name);
  if (value === undefined) throw new ValidationError(`Option --env "${name}": it is not set here`);
  return [name, value];
}

const RUN_FLAGS = {
  string: [
    "file",
    "jobs",
    "image",
    "bin",
    "forks",
    "workdir",
    "user",
    "entrypoint",
    "cwd",
    "volume-as-cwd",
    "error-strategy",
    "num-retries",
    "timeout",
    "prescript",
    "postscript",
    "scheduler",
  ],
  boolean: ["remove", "resume", "dry-run", "json", "quiet"],
  collect: ["volume", "env", "bin-arg"],
  alias: {
    f: "file",
    j: "jobs",
    i: "image",
    b: "bin",
    n: "forks",
    w: "workdir",
    v: "volume",
    e: "env",
  },
};

async function readJobsFile(path: string): Promise<JobSpec[]> {
  if (path === "-") {
    const text = await new Response(Deno.stdin.readable).text();
    return parseJobsText(text, "-");
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound
      ? "does not exist"
      : `cannot be read (${(e as Error).message})`;
    throw new ValidationError(`Jobs file "${path}" ${why}`);
  }
  return parseJobsText(text, path);
}

/** Everything `xqc run` was asked, checked. */
interface RunRequest {
  spec: BatchSpec;
  jobs: JobSpec[];
  resume: boolean;
  dryRun: boolean;
  json: boolean;
  quiet: boolean;
}

async function runRequest(args: string[]): Promise<RunRequest | null> {
  const flags = parseFlags(args, RUN_FLAGS, "run", true);
  if (flags.help) return null;
  const fromFlags: BatchSpec = {};
  const set = <K extends keyof BatchSpec>(key: K, value: BatchSpec[K] | undefined) => {
    if (value !== undefined) fromFlags[key] = value;
  };
  set("image", flagString(flags, "image"));
  set("bin", flagString(flags, "bin"));
  set("forks", flagNumber(flags, "forks", "forks", true));
  set("workdir", flagString(flags, "workdir"));
  set("volumes", flagList(flags, "volume"));
  const envs = flagList(flags, "env");
  if (envs) set("envs", Object.fromEntries(envs.map(parseEnvFlag)));
  set("user", flagString(flags, "user"));
  if (args.includes("--no-remove")) set("remove", false);
  const entrypoint = flagString(flags, "entrypoint");
  if (entrypoint !== undefined) {
    set(
      "entrypoint",
      entrypoint.includes(" ") ? entrypoint.split(/\s+/).filter(Boolean) : entrypoint,
    );
  }
  set("binArgs", flagList(flags, "bin-arg"));
  set("cwd", flagString(flags, "cwd"));
  set("volumeAsCwd", flagString(flags, "volume-as-cwd"));
  const strategy = flagString(flags, "error-strategy");
  if (strategy !== undefined) {
    set(
      "errorStrategy",
      checkSpecValue(
        "errorStrategy",
        strategy,
        "Option --error-strategy",
      ) as BatchSpec["errorStrategy"],
    );
  }
  set("numRetries", flagNumber(flags, "num-retries", "numRetries", true));
  set("timeout", flagNumber(flags, "timeout", "timeout", false));
  set("prescript", flagString(flags, "prescript"));
  set("postscript", flagString(flags, "postscript"));
  const scheduler = flagString(flags, "scheduler");
  if (scheduler !== undefined) {
    set(
      "scheduler",
      checkSpecValue("scheduler", scheduler, "Option --scheduler") as BatchSpec["scheduler"],
    );
  }

  const file = flagString(flags, "file");
  const fromFile = file ? await loadSpecFile(file) : {};
  const spec: BatchSpec = { ...fromFile, ...fromFlags };
  if (fromFile.envs && fromFlags.envs) spec.envs = { ...fromFile.envs, ...fromFlags.envs };

  const command = [...flags._.map(String), ...(flags["--"] ?? [])];
  const jobsFile = flagString(flags, "jobs");
  if (command.length && jobsFile) {
    throw new ValidationError(`Give a command after -- or --jobs, not both`);
  }
  let jobs: JobSpec[];
  if (command.length) {
    if (command[0] === "") throw new ValidationError("The command after -- is empty");
    jobs = [{ cmd: command, envs: {} }];
  } else if (jobsFile) {
    jobs = await readJobsFile(jobsFile);
    if (!jobs.length) throw new ValidationError(`Jobs file "${jobsFile}" has no jobs`);
  } else {
    jobs = fromFile.jobs ?? [];
    if (!jobs.length) {
      throw new ValidationError(
        file
          ? `Spec "${file}" has no jobs`
          : "No jobs: give a command after --, --jobs FILE or --file SPEC.yaml",
      );
    }
  }
  delete spec.jobs;
  return {
    spec,
    jobs,
    resume: flags.resume === true,
    dryRun: flags["dry-run"] === true,
    json: flags.json === true,
    quiet: flags.quiet === true,
  };
}

function buildXqute(request: RunRequest, plugins: ReturnType<typeof progressReporter>[]): Xqute {
  const options = xquteOptionsOf(request.spec);
  try {
    return new Xqute({ ...options, resume: request.resume, plugins });
  } catch (e) {
    if (e instanceof TypeError || e instanceof RangeError) throw new ValidationError(e.message);
    throw e;
  }
}

async function commandRun(args: string[], io: Io): Promise<number> {
  const request = await runRequest(args);
  if (!request) {
    io.out(HELP.run + "\n");
    return 0;
  }
  const mode: ProgressMode = request.quiet ? "quiet" : io.errIsTerminal ? "live" : "lines";
  const color = io.errIsTerminal && !Deno.env.get("NO_COLOR");
  const progress = progressReporter(mode, color, io.err);
  const xq = buildXqute(request, request.dryRun ? [] : [progress]);
  if (request.dryRun) {
    const scheduler = xq.scheduler;
    for (const [index, job] of request.jobs.entries()) {
      const created = scheduler.createJob(index, job.cmd, job.envs);
      created.trial = 1;
      const argv = scheduler.submissionArgv(created);
      const names = Object.keys({ ...scheduler.envs, ...job.envs });
      io.out(
        `# job ${index}: ${created.cmdText}${names.length ? ` (envs: ${names.join(", ")})` : ""}\n${
          shellJoin(argv)
        }\n`,
      );
    }
    return 0;
  }
  const feed = async (job: JobSpec) => {
    try {
      await xq.feed(job.cmd, { envs: job.envs });
    } catch (e) {
      if (e instanceof TypeError || e instanceof RangeError) throw new ValidationError(e.message);
      throw e;
    }
  };
  // The first feed checks the engine and claims the workdir; then the run starts while the
  // rest are fed, so the first job does not wait for the ten-thousandth to be queued.
  await feed(request.jobs[0]);
  let summary: RunSummary;
  try {
    const running = xq.runUntilComplete({ keepFeeding: true });
    for (const job of request.jobs.slice(1)) {
      if (!xq.feeding) break; // interrupted while feeding
      await feed(job);
    }
    summary = await xq.stopFeeding();
    await running;
  } finally {
    progress.finish();
  }
  if (request.json) io.out(JSON.stringify(summary) + "\n");
  if (!request.quiet) {
    io.err(
      `xqc: ${summary.total} job(s): ${summary.succeeded} succeeded, ${summary.failed} failed, ` +
        `${summary.killed} killed, ${summary.skipped} skipped in ${
          formatDuration(summary.durationMs)
        }` +
        ` (workdir ${summary.workdir})\n`,
    );
  }
  if (summary.signal === "SIGINT") return 130;
  if (summary.signal === "SIGTERM") return 143;
  return summary.failed || summary.killed ? 1 : 0;
}

function workdirOf(flags: Flags): string {
  return resolve(flagString(flags, "workdir") ?? "./.xqute");
}

async function existingWorkdir(flags: Flags): Promise<string> {
  const workdir = workdirOf(flags);
  try {
    if (!(await Deno.stat(workdir)).isDirectory) {
      throw new ValidationError(`Workdir "${workdir}" is not a directory`);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new ValidationError(`Workdir "${workdir}" does not exist`);
    }
    throw e;
  }
  return workdir;
}

interface StatusView {
  run: (RunRecord & { alive: boolean }) | null;
  jobs: JobRecord[];
}

async function statusView(workdir: string): Promise<StatusView> {
  const state = await readState(workdir);
  if (!state) throw new ValidationError(`Workdir "${workdir}" has no run state (state.kv)`);
  const owner = await lockOwner(workdir);
  return {
    run: state.run ? { ...state.run, alive: owner !== null } : null,
    jobs: state.jobs,
  };
}

function renderStatus(view: StatusView, now: number): string {
  const lines: string[] = [];
  const run = view.run;
  if (run) {
    const state = run.state === "running" && !run.alive
      ? "crashed (its process is gone)"
      : run.state;
    const took = (run.endedAt ?? now) - run.startedAt;
    lines.push(
      `run ${run.runId}  ${run.scheduler}${
        run.image ? `  image ${run.image}` : ""
      }  forks ${run.forks}` +
        `  pid ${run.pid}${run.alive ? " (alive)" : ""}`,
      `state ${state}${run.signal ? ` (${run.signal})` : ""}, ${formatDuration(took)}` +
        `${run.endedAt ? "" : " so far"}, started ${new Date(run.startedAt).toISOString()}`,
    );
  }
  const count = (name: string) => view.jobs.filter((j) => jobStatusName(j.status) === name).length;
  const skipped = view.jobs.filter((j) => j.skipped).length;
  const killed = view.jobs.filter((j) => j.killed).length;
  lines.push(
    `jobs ${view.jobs.length}: ${count("FINISHED") - skipped} finished, ${
      count("FAILED") - killed
    } failed, ` +
      `${killed} killed, ${skipped} skipped, ${
        count("RUNNING") + count("SUBMITTED") + count("KILLING")
      } running, ` +
      `${count("QUEUED") + count("INIT")} queued`,
    "",
    `${"INDEX".padEnd(6)}${"STATUS".padEnd(10)}${"RC".padEnd(5)}${"TRIAL".padEnd(6)}${
      "TIME".padEnd(9)
    }CMD`,
  );
  for (const job of view.jobs) {
    const status = job.skipped ? "SKIPPED" : job.killed ? "KILLED" : jobStatusName(job.status);
    const time = job.startedAt ? formatDuration((job.endedAt ?? now) - job.startedAt) : "";
    lines.push(
      `${String(job.index).padEnd(6)}${status.padEnd(10)}${String(job.rc ?? "").padEnd(5)}` +
        `${String(job.trial).padEnd(6)}${time.padEnd(9)}${job.cmd}`,
    );
  }
  return lines.join("\n") + "\n";
}

/**
 * The flags of `status`, `logs` and `kill`: `-w DIR` and some switches.
 *
 * @returns The flags, or `null` when `--help` was asked for (and printed).
 */
function workdirCommandFlags(
  args: string[],
  command: "status" | "logs" | "kill",
  switches: string[],
  io: Io,
): Flags | null {
  const flags = parseFlags(
    args,
    { string: ["workdir"], boolean: switches, alias: { w: "workdir" } },
    command,
  );
  if (!flags.help) return flags;
  io.out(HELP[command] + "\n");
  return null;
}

async function commandStatus(args: string[], io: Io): Promise<number> {
  const flags = workdirCommandFlags(args, "status", ["json", "watch"], io);
  if (!flags) return 0;
  const workdir = await existingWorkdir(flags);
  for (;;) {
    const view = await statusView(workdir);
    if (flags.json) io.out(JSON.stringify(view) + "\n");
    else {
      if (flags.watch && Deno.stdout.isTerminal()) io.out("\x1b[H\x1b[2J");
      io.out(renderStatus(view, Date.now()));
    }
    if (!flags.watch || !view.run?.alive) return 0;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function commandLogs(args: string[], io: Io): Promise<number> {
  const flags = workdirCommandFlags(args, "logs", ["stderr", "follow"], io);
  if (!flags) return 0;
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
  const printNew = async () => {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path);
    } catch {
      return;
    }
    try {
      await file.seek(offset, Deno.SeekMode.Start);
      const decoder = new TextDecoder();
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
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function commandKill(args: string[], io: Io): Promise<number> {
  const flags = workdirCommandFlags(args, "kill", [], io);
  if (!flags) return 0;
  const workdir = await existingWorkdir(flags);
  const owner = await lockOwner(workdir);
  if (owner !== null) {
    Deno.kill(owner, "SIGTERM");
    const end = Date.now() + 120_000;
    while ((await lockOwner(workdir)) !== null && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if ((await lockOwner(workdir)) !== null) {
      io.err(`xqc: the run of process ${owner} did not stop within 120 s\n`);
      return 1;
    }
    io.err(`xqc: stopped the run of process ${owner}\n`);
  }
  const state = await readState(workdir).catch(() => null);
  const removed = await reapLeftovers(workdir, state?.run?.bin ?? null);
  if (removed.length) {
    io.err(`xqc: stopped what was left running in ${workdir}: ${removed.join(", ")}\n`);
  }
  if (owner === null && !removed.length) io.err(`xqc: no run is alive in ${workdir}\n`);
  return 0;
}

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
    switch (command) {
      case "run":
        return await commandRun(rest, io);
      case "status":
        return await commandStatus(rest, io);
      case "logs":
        return await commandLogs(rest, io);
      case "kill":
        return await commandKill(rest, io);
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
          `Unknown command "${command}" (expected run, status, logs or kill)`,
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

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
