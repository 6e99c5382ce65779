// Processes: spawning a job's process in its own group, short commands with a deadline,
// signalling groups, and finding the groups a run left behind.

import { findOnPath } from "./which.ts";

const OUTPUT_LIMIT = 64 * 1024;

/** A spawned job process: the engine client, or bash for local jobs. */
export interface JobProcess {
  /** Its process id (also its process group's id). */
  readonly pid: number;
  /** Resolves when the process has exited and its output was read. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /** Whether the process printed the marker line. */
  readonly sawMarker: boolean;
  /** What the process printed besides the marker (the engine's own messages), capped. */
  readonly output: string;
}

/** How to spawn a job's process. */
export interface SpawnOptions {
  /** Environment variables added to this process's. */
  env: Record<string, string>;
  /** A line the process prints once (the wrapper's running marker). */
  marker: string;
  /** Called once when the marker line is printed. */
  onMarker: () => void;
  /** `"null"` when the process sends its stderr to its stdout itself. */
  stderr?: "piped" | "null";
  /** Where it runs, when not where this process does. */
  cwd?: string;
}

let setsidPath: string | null | undefined;

/**
 * The `setsid` program, when this system has one. Deno's `detached` spawns through fork,
 * which costs a large process several milliseconds; `setsid` is spawned the fast way and
 * puts the job in its own session and process group itself.
 */
function setsid(): string | null {
  if (setsidPath === undefined) {
    setsidPath = null;
    for (const dir of ["/usr/bin", "/bin", "/usr/local/bin"]) {
      try {
        if (Deno.statSync(`${dir}/setsid`).isFile) {
          setsidPath = `${dir}/setsid`;
          break;
        }
      } catch {
        // Not here.
      }
    }
  }
  return setsidPath;
}

/**
 * Spawn a job's process in its own process group, with stdin closed and its output piped.
 * Each pipe costs the runtime memory that it does not give back, so a process that sends
 * its stderr to its stdout is spawned with stderr `"null"`.
 *
 * @param argv The program and its arguments.
 * @param options The environment, the marker line and what to call when it is printed.
 * @returns The process.
 */
export function spawnJobProcess(argv: readonly string[], options: SpawnOptions): JobProcess {
  const stderr = options.stderr ?? "piped";
  const child = spawnLeader(argv, {
    env: options.env,
    cwd: options.cwd,
    stdin: "null",
    stdout: "piped",
    stderr,
  });
  const marker = `${options.marker}\n`;
  let output = "";
  let sawMarker = false;
  let hasExited = false;
  const keep = (text: string) => {
    if (output.length < OUTPUT_LIMIT) output += text.slice(0, OUTPUT_LIMIT - output.length);
  };
  const decoder = new TextDecoder();
  let pending = "";
  const stdout = eachChunk(child.stdout, (chunk) => {
    let text = decoder.decode(chunk, { stream: true });
    if (!sawMarker) {
      pending += text;
      const at = pending.indexOf(marker);
      if (at < 0) return;
      sawMarker = true;
      options.onMarker();
      text = pending.slice(0, at) + pending.slice(at + marker.length);
      pending = "";
    }
    keep(text);
  });
  const readStdout = stdout.done.then(() => keep(pending));
  const errDecoder = new TextDecoder();
  const stderrReader = stderr === "null"
    ? null
    : eachChunk(child.stderr, (chunk) => keep(errDecoder.decode(chunk, { stream: true })));
  const readStderr = stderrReader?.done ?? Promise.resolve();
  const exited = (async () => {
    const status = await child.status;
    // A background process of the job may hold the pipes open; its output is not needed.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 500));
    const drained = Promise.all([readStdout, readStderr]).then(() => "drained" as const);
    if ((await Promise.race([drained, late])) === "late") {
      stdout.cancel();
      stderrReader?.cancel();
    }
    clearTimeout(timer);
    hasExited = true;
    return status;
  })();
  return {
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    get sawMarker() {
      return sawMarker;
    },
    get output() {
      return output;
    },
  };
}

// Buffers for reading processes' output, used again: a stream's own reads allocate 64 KiB
// each, which 100,000 processes leave as fragments in the allocator (tens of MB of RSS).
const SPARE_BYTES = 4096;
const spare: ArrayBuffer[] = [];

/**
 * Read a stream a chunk at a time into a buffer of a small pool.
 *
 * @param stream The stream (a process's stdout or stderr).
 * @param each Called with each chunk (valid only during the call).
 * @returns When it is read to its end, and how to stop reading.
 */
function eachChunk(
  stream: ReadableStream<Uint8Array>,
  each: (chunk: Uint8Array) => void,
): { done: Promise<void>; cancel: () => void } {
  const reader = stream.getReader({ mode: "byob" });
  const done = (async () => {
    let buffer: ArrayBuffer | null = spare.pop() ?? new ArrayBuffer(SPARE_BYTES);
    try {
      for (;;) {
        const read: ReadableStreamReadResult<Uint8Array> = await reader.read(
          new Uint8Array(buffer),
        );
        const value: Uint8Array | undefined = read.value;
        const done: boolean = read.done;
        buffer = value ? value.buffer as ArrayBuffer : null;
        if (value?.length) each(value);
        if (done || !buffer) break;
      }
    } catch {
      // Cancelled, or the pipe broke: what was read is kept.
    } finally {
      if (buffer?.byteLength === SPARE_BYTES && spare.length < 64) spare.push(buffer);
    }
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}

/**
 * Spawn a process that leads a session (and a process group) of its own, through `setsid`
 * when this system has one.
 *
 * @param argv The program and its arguments.
 * @param options Its environment (added to this process's) and its stdio.
 * @returns The child.
 */
export function spawnLeader(
  argv: readonly string[],
  options: Pick<Deno.CommandOptions, "env" | "cwd" | "stdin" | "stdout" | "stderr">,
): Deno.ChildProcess {
  const leader = setsid();
  const [program, ...args] = leader ? [leader, resolved(argv[0]), ...argv.slice(1)] : argv;
  return new Deno.Command(program, { args, ...options, detached: leader === null }).spawn();
}

const programPaths = new Map<string, string>();

/**
 * A program's path, found on PATH once: `setsid` would otherwise try each PATH entry
 * before it on every spawn (a failed exec costs a tenth of a millisecond).
 */
function resolved(program: string): string {
  if (program.includes("/")) return program;
  let path = programPaths.get(program);
  if (path === undefined) {
    path = findOnPath(program) ?? program;
    programPaths.set(program, path);
  }
  return path;
}

/**
 * Send a signal to a process group, ignoring one that is already gone.
 *
 * @param pid The group's id (its leader's pid).
 * @param signal The signal.
 */
export function signalGroup(pid: number, signal: Deno.Signal): void {
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    Deno.kill(-pid, signal);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) && !(e instanceof Deno.errors.PermissionDenied)) {
      // ESRCH arrives as NotFound; anything else is worth knowing.
      throw e;
    }
  }
}

/**
 * Send a signal to every process of a session: a job's process group and the groups its
 * wrapper made for the command. Linux only: it reads /proc.
 *
 * @param sid The session's id (its leader's pid).
 * @param signal The signal.
 */
export function signalSession(sid: number, signal: Deno.Signal): void {
  if (!Number.isInteger(sid) || sid <= 1) return;
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return signalGroup(sid, signal);
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[3]) === sid) Deno.kill(Number(entry.name), signal);
    } catch {
      // Gone, or not ours.
    }
  }
}

/** What a short command printed and returned. */
export interface CommandResult {
  /** Its exit code (124 when it ran past its deadline, 127 when it does not exist). */
  code: number;
  /** Its stdout. */
  stdout: string;
  /** Its stderr, or why it did not run to its end. */
  stderr: string;
}

/** How long an engine or cluster command may take by default, in milliseconds. */
export const COMMAND_DEADLINE_MS = 60_000;

/**
 * Run a short command to its end and collect its output. Past its deadline it gets
 * SIGTERM, then SIGKILL two seconds later, and its result says it timed out (code 124).
 *
 * @param argv The program and its arguments.
 * @param options Extra environment variables and the deadline in milliseconds.
 * @returns Its exit code and output.
 */
export async function runCommand(
  argv: readonly string[],
  options: { env?: Record<string, string>; deadlineMs?: number } = {},
): Promise<CommandResult> {
  const deadlineMs = options.deadlineMs ?? COMMAND_DEADLINE_MS;
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: options.env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${argv[0]}: not found` };
    }
    throw e;
  }
  let late = false;
  let escalate: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    late = true;
    kill(child, "SIGTERM");
    escalate = setTimeout(() => kill(child, "SIGKILL"), 2000);
  }, deadlineMs);
  try {
    const out = await child.output();
    const decoder = new TextDecoder();
    if (late) {
      return {
        code: 124,
        stdout: decoder.decode(out.stdout),
        stderr: `${argv[0]} ${argv[1] ?? ""} did not answer within ${deadlineMs / 1000} s`,
      };
    }
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(escalate);
  }
}

function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // It has exited.
  }
}

/** The variable that marks a job's process with the workdir of the run that started it. */
export const WORKDIR_TAG = "XQC_RUN_WORKDIR";

/**
 * Whether a process lives and carries a run's workdir mark (so a reused pid is not taken
 * for the job). Linux only: it reads /proc.
 *
 * @param pid The process id.
 * @param workdir The workdir its run was given.
 * @returns `true` when it lives and is marked.
 */
export function isTaggedProcess(pid: number, workdir: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
    return Deno.readTextFileSync(`/proc/${pid}/environ`).split("\0").includes(
      `${WORKDIR_TAG}=${workdir}`,
    );
  } catch {
    return false;
  }
}

/**
 * Find the process groups that a run of a workdir started and that still live (a run that
 * was killed with -9 leaves them behind). Linux only: it reads /proc.
 *
 * @param workdir The workdir.
 * @returns The pids of their leaders.
 */
export async function findTaggedGroups(workdir: string): Promise<number[]> {
  const tag = `${WORKDIR_TAG}=${workdir}`;
  const found: number[] = [];
  let entries: AsyncIterable<Deno.DirEntry>;
  try {
    entries = Deno.readDir("/proc");
  } catch {
    return found;
  }
  for await (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    try {
      const environ = await Deno.readTextFile(`/proc/${pid}/environ`);
      if (!environ.split("\0").includes(tag)) continue;
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(fields[2]) === pid) found.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}
