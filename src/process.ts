// Spawning a job's process once, reading its output, and killing its process group.

import { RUNNING_MARKER } from "./wrapper.ts";

const OUTPUT_LIMIT = 64 * 1024;

/** A spawned job process: the engine client, or bash for local jobs. */
export interface JobProcess {
  /** Its process id (also its process group's id). */
  readonly pid: number;
  /** Resolves when the process has exited and its output was read. */
  readonly exited: Promise<Deno.CommandStatus>;
  /** Whether it has exited. */
  readonly hasExited: boolean;
  /** Whether the wrapper said the job runs. */
  readonly sawRunning: boolean;
  /** What the process printed besides the marker (the engine's own messages), capped. */
  readonly output: string;
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
 * @param env Environment variables added to this process's.
 * @param onRunning Called once when the wrapper prints its running marker.
 * @returns The process.
 */
export function spawnJobProcess(
  argv: readonly string[],
  env: Record<string, string>,
  onRunning: () => void,
  stderr: "piped" | "null" = "piped",
): JobProcess {
  const leader = setsid();
  const [program, ...args] = leader ? [leader, ...argv] : argv;
  const child = new Deno.Command(program, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr,
    detached: leader === null,
  }).spawn();
  let output = "";
  let sawRunning = false;
  let hasExited = false;
  const keep = (text: string) => {
    if (output.length < OUTPUT_LIMIT) output += text.slice(0, OUTPUT_LIMIT - output.length);
  };
  const readStdout = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of child.stdout) {
      let text = decoder.decode(chunk, { stream: true });
      if (!sawRunning) {
        pending += text;
        const at = pending.indexOf(`${RUNNING_MARKER}\n`);
        if (at < 0) continue;
        sawRunning = true;
        onRunning();
        text = pending.slice(0, at) + pending.slice(at + RUNNING_MARKER.length + 1);
        pending = "";
      }
      keep(text);
    }
    keep(pending);
  })();
  const readStderr = stderr === "null" ? Promise.resolve() : (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) keep(decoder.decode(chunk, { stream: true }));
  })();
  const exited = (async () => {
    const status = await child.status;
    // A background process of the job may hold the pipes open; its output is not needed.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 500));
    const drained = Promise.all([readStdout, readStderr]).then(() => "drained" as const);
    if ((await Promise.race([drained, late])) === "late") {
      child.stdout.cancel().catch(() => {});
      if (stderr === "piped") child.stderr.cancel().catch(() => {});
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
    get sawRunning() {
      return sawRunning;
    },
    get output() {
      return output;
    },
  };
}

/**
 * Send a signal to a process group, ignoring one that is already gone.
 *
 * @param pid The group's id (its leader's pid).
 * @param signal The signal.
 */
export function signalGroup(pid: number, signal: Deno.Signal): void {
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
 * Run a short command to its end and collect its output.
 *
 * @param argv The program and its arguments.
 * @param env Extra environment variables.
 * @returns Its exit code and output.
 */
export async function runCommand(
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${argv[0]}: not found` };
    }
    throw e;
  }
}

/** The variable that marks a job's process with the workdir of the run that started it. */
export const WORKDIR_TAG = "XQC_RUN_WORKDIR";

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
