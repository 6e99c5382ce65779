// One long-lived container of a pool: its engine client, with the agent on the other end of
// its stdin and stdout, and the jobs it runs one after another.

import { dirname } from "@std/path/posix";
import { type AgentReport, killRequest, parseAgentReport } from "../../core/agent.ts";
import { signalSession, spawnLeader } from "../../core/process.ts";
import type { TrialEnd } from "../trial.ts";

const OUTPUT_LIMIT = 16 * 1024;

/** How a pool container's client ended. */
export interface ContainerExit {
  /** Its exit code. */
  code: number;
  /** The signal that ended it, if one did. */
  signal: string | null;
  /** What the engine said on stderr (its last words), capped. */
  said: string;
}

/** What a job in a pool container is told. */
export interface PoolJobEvents {
  /** Its wrapper runs. */
  onStart(): void;
  /** It ended. */
  onEnd(end: TrialEnd): void;
}

/** A job's id in a pool: `INDEX.TRIAL`. */
export type PoolJobId = string;

/**
 * The FIFOs a pool container's agent talks through instead of its stdin and stdout, both
 * held open (read and write) by the run: requests go into `.in`; reports come from `.out`.
 */
interface Channel {
  /** Their path on this host, without `.in`/`.out`. */
  base: string;
  requests: Deno.FsFile;
  reports: Deno.FsFile;
  /** The reports' FIFO once more, to wake its reader (a file's read and write take turns). */
  waker: Deno.FsFile;
  /** Set when the container has ended: the reader stops at the next read. */
  done: boolean;
}

/**
 * A running pool container: the engine client, spawned in a session of its own, talking to
 * the agent through its stdin (requests) and stdout (reports), or through FIFOs.
 */
export class PoolContainer {
  /** The container's name (docker/podman), or its client's pid (apptainer). */
  readonly name: string;
  /** What jobs it may run: their image and limits, as one string. */
  readonly key: string;
  /** What it is, for messages: `container`, or `Slurm allocation`. */
  readonly kind: string;
  /** The client's pid. */
  readonly pid: number;
  /** Jobs started in it. */
  jobsStarted = 0;
  /** Whether a job runs in it (or is being started). */
  busy = false;
  /** Whether it takes no more jobs (closing, or ended). */
  retired = false;
  /** The agent's memory cgroup, as /proc/self/cgroup says it (`null`: unknown). */
  memoryCgroup: string | null = null;
  /** The cgroup folders the run made for it (its agent joins them), if any. */
  cgroup: readonly string[] = [];
  /** Resolves when the agent is ready; rejects when the client ended first. */
  readonly ready: Promise<void>;
  /** Resolves when the client has exited. */
  readonly exited: Promise<ContainerExit>;

  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #encoder = new TextEncoder();
  /** Its jobs, with their process groups once they have started. */
  #jobs = new Map<PoolJobId, PoolJobEvents & { pgid: number | null }>();
  #said = "";
  #hasExited = false;
  #channel: Channel | null = null;
  #sending: Promise<void> = Promise.resolve();

  /**
   * Start a container's client.
   *
   * @param argv The engine argv that runs the agent.
   * @param client The client's environment, added to this process's, and where it runs.
   * @param nameOf What the container is called, given its client's pid.
   * @param key What jobs it may run.
   * @param kind What it is, for messages (`container`, `Slurm allocation`).
   * @param channel Where to make the agent's FIFOs on this host (without `.in`/`.out`), when
   *   it talks through them; the argv must name the same FIFOs as the container sees them.
   */
  constructor(
    argv: readonly string[],
    client: { env: Record<string, string>; cwd?: string },
    nameOf: (pid: number) => string,
    key: string,
    kind = "container",
    channel?: string,
  ) {
    if (channel) this.#channel = openChannel(channel);
    // With FIFOs, the client's stdout carries nothing anyone reads.
    this.#child = spawnLeader(argv, {
      ...client,
      stdin: "piped",
      stdout: this.#channel ? "null" : "piped",
      stderr: "piped",
    });
    this.pid = this.#child.pid;
    this.name = nameOf(this.pid);
    this.key = key;
    this.kind = kind;
    this.#writer = this.#child.stdin.getWriter();
    this.#writer.closed.catch(() => {});
    let ready = () => {};
    let failed = (_e: Error) => {};
    this.ready = new Promise<void>((resolve, reject) => {
      ready = resolve;
      failed = reject;
    });
    this.ready.catch(() => {});
    const reading = this.#read((report) => {
      if (report.kind === "ready") {
        this.memoryCgroup = report.memoryCgroup;
        ready();
      } else this.#report(report);
    });
    this.exited = this.#watch(reading, this.#collect(), failed);
  }

  /** Whether the client has exited. */
  get hasExited(): boolean {
    return this.#hasExited;
  }

  /**
   * Ask the agent to run a job's wrapper; its events follow.
   *
   * @param id The job's id in the pool.
   * @param request The `run` request line.
   * @param events Who hears of it.
   */
  async run(id: PoolJobId, request: string, events: PoolJobEvents): Promise<void> {
    if (this.#hasExited) throw new Error(`the pool ${this.kind} ${this.name} has ended`);
    this.#jobs.set(id, { ...events, pgid: null });
    this.jobsStarted++;
    await this.#send(request);
  }

  /**
   * Signal a job's process group, once it has started (before, there is none: a job given
   * up then retires its container, whose agent stops the job as it closes).
   *
   * @param id The job's id.
   * @param signal TERM, or KILL.
   */
  async kill(id: PoolJobId, signal: "TERM" | "KILL"): Promise<void> {
    const pgid = this.#jobs.get(id)?.pgid;
    if (pgid) await this.#send(killRequest(id, signal, pgid)).catch(() => {});
  }

  /** Whether a job of this id runs in it. */
  runs(id: PoolJobId): boolean {
    return this.#jobs.has(id);
  }

  /**
   * End the agent's stdin: it stops its jobs and exits, and the container ends with it.
   *
   * @param waitMs How long to wait for the client to exit.
   * @returns Whether it exited in time.
   */
  async close(waitMs: number): Promise<boolean> {
    this.retired = true;
    await this.#writer.close().catch(() => {});
    // The agent reads the end of its requests once no one holds the FIFO for writing.
    await this.#sending;
    if (this.#channel && !this.#channel.done) tryClose(this.#channel.requests);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), waitMs));
    const done = await Promise.race([this.exited.then(() => true), late]);
    clearTimeout(timer);
    return done;
  }

  /** Kill the client's session (what is left of an apptainer agent and its jobs). */
  killClient(): void {
    signalSession(this.pid, "SIGKILL");
  }

  async #collect(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        if (this.#said.length < OUTPUT_LIMIT) this.#said += decoder.decode(chunk, { stream: true });
      }
    } catch {
      // The pipe broke with the client.
    }
  }

  async #watch(
    reading: Promise<void>,
    collecting: Promise<void>,
    failed: (e: Error) => void,
  ): Promise<ContainerExit> {
    const status = await this.#child.status;
    const channel = this.#channel;
    if (channel) {
      // The run holds the reports' FIFO for writing too, so its reader sees no end: wake it.
      channel.done = true;
      await channel.waker.write(new Uint8Array([10])).catch(() => 0);
    }
    const drained = Promise.all([reading, collecting]);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), 500));
    const first = await Promise.race([drained, late]);
    clearTimeout(timer);
    // Its session goes too: an agent that outlived its client has no one to talk to (and
    // holds the pipes open until it is gone).
    signalSession(this.pid, "SIGKILL");
    if (first === "late") await drained;
    if (channel) {
      tryClose(channel.requests);
      tryClose(channel.reports);
      tryClose(channel.waker);
      for (const end of [".in", ".out"]) await Deno.remove(channel.base + end).catch(() => {});
    }
    this.#hasExited = true;
    this.retired = true;
    const exit = { code: status.code, signal: status.signal, said: this.#said.trim() };
    failed(new Error(this.#describe(exit)));
    for (const [id, job] of this.#jobs) {
      this.#jobs.delete(id);
      job.onEnd({
        sawRunning: job.pgid !== null,
        signal: null,
        lost: true,
        why: `xqc: the pool ${this.kind} ${this.name} ended while the job ran (${
          this.#describe(exit)
        })`,
      });
    }
    return exit;
  }

  #report(report: AgentReport): void {
    if (report.kind === "ready") return;
    const job = this.#jobs.get(report.id);
    if (!job) return;
    if (report.kind === "start") {
      job.pgid = report.pgid;
      job.onStart();
      return;
    }
    // The agent writes the job's rc before it reports the end: the reason below shows only
    // when it could not.
    this.#jobs.delete(report.id);
    job.onEnd({
      sawRunning: job.pgid !== null,
      signal: report.rc > 128 ? signalName(report.rc - 128) : null,
      why: `xqc: the job ended (rc ${report.rc}) without its rc written`,
    });
  }

  async #send(line: string): Promise<void> {
    if (this.#hasExited) throw new Error(`the pool ${this.kind} ${this.name} has ended`);
    const bytes = this.#encoder.encode(line + "\n");
    const channel = this.#channel;
    if (!channel) return await this.#writer.write(bytes);
    // One request after another, each written whole: the agent reads lines.
    const sent = this.#sending.then(async () => {
      for (let at = 0; at < bytes.length;) at += await channel.requests.write(bytes.subarray(at));
    });
    this.#sending = sent.catch(() => {});
    await sent;
  }

  async *#chunks(): AsyncGenerator<Uint8Array> {
    const channel = this.#channel;
    if (!channel) return yield* this.#child.stdout;
    const buffer = new Uint8Array(16 * 1024);
    while (!channel.done) {
      const n = await channel.reports.read(buffer);
      if (n === null) return;
      yield buffer.slice(0, n);
    }
  }

  async #read(on: (report: AgentReport) => void): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of this.#chunks()) {
        pending += decoder.decode(chunk, { stream: true });
        let at: number;
        while ((at = pending.indexOf("\n")) >= 0) {
          const report = parseAgentReport(pending.slice(0, at));
          pending = pending.slice(at + 1);
          if (report) on(report);
        }
      }
    } catch {
      // The pipe broke: the client is gone, which `exited` tells.
    }
  }

  #describe(exit: ContainerExit): string {
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    const said = exit.said.split("\n").filter(Boolean).pop()?.trim();
    return said ? `${how}: ${said}` : how;
  }
}

/** Make the agent's FIFOs and hold both open for reading and writing (which never waits). */
function openChannel(base: string): Channel {
  Deno.mkdirSync(dirname(base), { recursive: true });
  for (const end of [".in", ".out"]) {
    try {
      Deno.removeSync(base + end);
    } catch {
      // Not there: the usual case.
    }
  }
  const made = new Deno.Command("mkfifo", { args: ["-m", "600", `${base}.in`, `${base}.out`] })
    .outputSync();
  if (!made.success) {
    throw new Error(`mkfifo ${base}.in: ${new TextDecoder().decode(made.stderr).trim()}`);
  }
  const open = (path: string) => Deno.openSync(path, { read: true, write: true });
  return {
    base,
    requests: open(`${base}.in`),
    reports: open(`${base}.out`),
    waker: Deno.openSync(`${base}.out`, { write: true }),
    done: false,
  };
}

function tryClose(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // Closed already.
  }
}

const SIGNAL_NAMES: Record<number, string> = {
  1: "SIGHUP",
  2: "SIGINT",
  9: "SIGKILL",
  15: "SIGTERM",
};

function signalName(n: number): string | null {
  return SIGNAL_NAMES[n] ?? null;
}
