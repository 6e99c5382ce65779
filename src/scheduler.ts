// The scheduler base: submitting, waiting for, killing and retrying jobs, and their wrapper.

import { isAbsolute, join, resolve } from "@std/path";
import { Job, type JobCommand, validateEnvs } from "./job.ts";
import { PluginManager } from "./plugin.ts";
import { reapLeftovers } from "./orphans.ts";
import { type JobProcess, spawnJobProcess, WORKDIR_TAG } from "./process.ts";
import {
  JobErrorStrategy,
  type JobErrorStrategyName,
  JobStatus,
  type JobStatusCode,
  RC_REFUSED,
  RC_VANISHED,
} from "./status.ts";
import { shellJoin, shellQuote } from "./shell.ts";
import { renderWrapper } from "./wrapper.ts";

/** Options every scheduler takes (xqute's base scheduler options). */
export interface SchedulerOptions {
  /** How many jobs run at once (default 1). */
  forks?: number;
  /** Where the metadirs and `state.kv` go (default `./.xqute`). */
  workdir?: string;
  /** The workdir as jobs see it (default: the workdir itself). */
  mountedWorkdir?: string;
  /** The directory jobs start in, as jobs see it. */
  cwd?: string;
  /** What to do when a job fails (default `"ignore"`). */
  errorStrategy?: JobErrorStrategyName;
  /** How many times a failed job is run again with `"retry"` (default 3). */
  numRetries?: number;
  /** Bash run in every job before its command. */
  prescript?: string;
  /** Bash run in every job after its command. */
  postscript?: string;
  /** The first part of container names (default `"xqc"`). */
  jobnamePrefix?: string;
  /** How many jobs may be starting (submitted, not yet running) at once (default 8). */
  submissionBatch?: number;
  /** Seconds between checks that running containers still exist (default 60). */
  recheckInterval?: number;
  /** Seconds after which a job's command is stopped with rc 124 (default 0: none). */
  timeout?: number;
  /** Environment variables set in every job. */
  envs?: Record<string, string>;
}

const STRATEGIES: readonly string[] = Object.values(JobErrorStrategy);

/**
 * Check that a value is a whole number within bounds.
 *
 * @param name The option's name, for the message.
 * @param value The value.
 * @param min The least value allowed.
 * @returns The value.
 * @throws {RangeError} When it is not.
 */
export function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Option "${name}" must be a whole number >= ${min}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkNumber(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new RangeError(
      `Option "${name}" must be a number >= ${min}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== "string") {
    throw new TypeError(`Option "${name}" must be a string, not ${typeof value}`);
  }
  return value;
}

/** A job in flight: its process and the promise of its end. */
interface Flight {
  process: JobProcess;
  done: Promise<void>;
  /** Opens once the submission is recorded, so that events arrive in order. */
  open: () => void;
}

/**
 * The abstract scheduler: it submits jobs to something that runs them, knows when they
 * end (from their process's exit, with no polling), kills and retries them.
 * Subclasses say how a job is started (`engineCommand`) and killed (`killJob`).
 */
export abstract class Scheduler {
  /** The scheduler's name (`"local"`, `"container"`). */
  abstract readonly name: string;
  /** The class of the jobs it creates. */
  jobClass: typeof Job = Job;
  /** How many jobs run at once. */
  readonly forks: number;
  /** The workdir on the host, absolute. */
  workdir: string;
  /** The workdir as jobs see it. */
  mountedWorkdir: string;
  /** The directory jobs start in, as jobs see it (empty: the engine's default). */
  cwd: string;
  /** What to do when a job fails. */
  readonly errorStrategy: JobErrorStrategyName;
  /** How many times a failed job is run again with `"retry"`. */
  readonly numRetries: number;
  /** Bash run before every job's command. */
  readonly prescript: string;
  /** Bash run after every job's command. */
  readonly postscript: string;
  /** The first part of container names. */
  readonly jobnamePrefix: string;
  /** How many jobs may be starting at once. */
  readonly submissionBatch: number;
  /** Seconds between liveness checks of running containers. */
  readonly recheckInterval: number;
  /** Seconds a job's command may run; 0 for no limit. */
  readonly timeout: number;
  /** The image jobs run in; `null` when they run on the host. */
  readonly image: string | null = null;
  /** The engine binary; `null` when jobs run on the host. */
  readonly bin: string | null = null;
  /** Environment variables set in every job. */
  readonly envs: Readonly<Record<string, string>>;
  /** This run's id: part of container names and labels. */
  runId: string = crypto.randomUUID().slice(0, 8);
  /** The plugins whose hooks run (set by {@linkcode Xqute}). */
  plugins: PluginManager = new PluginManager();
  /** Why running jobs are being killed, written into their `job.stderr`. */
  killReason = "the job was killed";
  /** Called on every change of a job's state (the run records it). */
  onJobChange: (job: Job) => void = () => {};

  #flights = new Map<Job, Flight>();
  #polls = new Map<Job, number>();
  #starting = new Set<Job>();
  #holding = new Set<Job>();
  #startWaiters: (() => void)[] = [];

  /**
   * Check the base options.
   *
   * @param options The base options.
   */
  constructor(options: SchedulerOptions = {}) {
    this.forks = checkInteger("forks", options.forks ?? 1, 1);
    const strategy = options.errorStrategy ?? JobErrorStrategy.IGNORE;
    if (!STRATEGIES.includes(strategy)) {
      throw new TypeError(
        `Unknown error strategy "${strategy}" (expected ${STRATEGIES.join(", ")})`,
      );
    }
    this.errorStrategy = strategy;
    this.numRetries = checkInteger("numRetries", options.numRetries ?? 3, 0);
    this.submissionBatch = checkInteger("submissionBatch", options.submissionBatch ?? 8, 1);
    this.recheckInterval = checkNumber("recheckInterval", options.recheckInterval ?? 60, 0);
    this.timeout = checkNumber("timeout", options.timeout ?? 0, 0);
    this.prescript = checkString("prescript", options.prescript ?? "");
    this.postscript = checkString("postscript", options.postscript ?? "");
    this.jobnamePrefix = checkString("jobnamePrefix", options.jobnamePrefix ?? "xqc");
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(this.jobnamePrefix)) {
      throw new TypeError(
        `Option "jobnamePrefix" must be letters, digits, "_", "." or "-", not "${this.jobnamePrefix}"`,
      );
    }
    this.workdir = resolve(checkString("workdir", options.workdir ?? "./.xqute"));
    this.mountedWorkdir = checkString("mountedWorkdir", options.mountedWorkdir ?? this.workdir);
    if (!isAbsolute(this.mountedWorkdir)) {
      throw new TypeError(
        `Option "mountedWorkdir" must be an absolute path, not "${this.mountedWorkdir}"`,
      );
    }
    this.cwd = checkString("cwd", options.cwd ?? "");
    const envs = options.envs ?? {};
    validateEnvs(envs, `Option "envs"`);
    this.envs = { ...envs };
  }

  /** The wrapper's file name suffix: `job.wrapped.<suffix>`. */
  get wrapperSuffix(): string {
    return this.name;
  }

  /**
   * Whether the started process's stderr is read (`"piped"`), or it sends its stderr to
   * its stdout itself (`"null"`).
   */
  get clientStderr(): "piped" | "null" {
    return "piped";
  }

  /** The wrapper's interpreter line (without `#!`). */
  get wrapperShebang(): string {
    return "/usr/bin/env bash";
  }

  /** Bash the wrapper runs first: `cd` to the cwd, when there is one. */
  get jobcmdWrapperInit(): string {
    return this.cwd ? `cd ${shellQuote(this.cwd)} || exit 1` : "";
  }

  /**
   * Checks made once before the first job: the engine and the image. Throws what stops
   * the run; the base scheduler has nothing to check.
   */
  async prepare(): Promise<void> {}

  /**
   * Find what an earlier run of this workdir left running (containers of a crashed run),
   * and stop it.
   *
   * @returns What was stopped, for a message; empty when nothing was.
   */
  reapOrphans(): Promise<string[]> {
    return reapLeftovers(this.workdir, null);
  }

  /**
   * The argv that starts the wrapper, without the wrapper's path.
   *
   * @param job The job.
   * @returns The program and its arguments.
   */
  abstract engineCommand(job: Job): string[];

  /**
   * Environment variables for the process that starts the job (the engine client).
   *
   * @param job The job.
   * @returns Names and values.
   */
  processEnv(job: Job): Record<string, string> {
    return { ...this.envs, ...job.envs };
  }

  /**
   * Create a job of this scheduler.
   *
   * @param index Its index.
   * @param cmd Its command.
   * @param envs Its environment variables.
   * @returns The job (status INIT).
   */
  createJob(index: number, cmd: JobCommand, envs: Record<string, string> = {}): Job {
    return new this.jobClass(
      index,
      cmd,
      join(this.workdir, String(index)),
      `${this.mountedWorkdir.replace(/\/+$/, "")}/${index}`,
      envs,
    );
  }

  /**
   * The engine command line that runs a job's wrapper, as one line (xqute's shebang).
   *
   * @param job The job.
   * @returns The command line.
   */
  jobcmdShebang(job: Job): string {
    return shellJoin(this.engineCommand(job));
  }

  /**
   * Bash run by the wrapper before the command is prepared: the plugins' onJobcmdInit.
   *
   * @param job The job.
   * @returns Bash code.
   */
  jobcmdInit(job: Job): string {
    return this.plugins.jobcmd("onJobcmdInit", this, job);
  }

  /**
   * Bash run right before the command: the plugins' onJobcmdPrep.
   *
   * @param job The job.
   * @returns Bash code.
   */
  jobcmdPrep(job: Job): string {
    return this.plugins.jobcmd("onJobcmdPrep", this, job);
  }

  /**
   * Bash run after the command's rc is written: the plugins' onJobcmdEnd.
   *
   * @param job The job.
   * @returns Bash code.
   */
  jobcmdEnd(job: Job): string {
    return this.plugins.jobcmd("onJobcmdEnd", this, job);
  }

  /**
   * The text of a job's wrapper.
   *
   * @param job The job.
   * @returns Bash.
   */
  wrapJobScript(job: Job): string {
    return renderWrapper({
      shebang: this.wrapperShebang,
      index: job.index,
      trial: job.trial,
      mountedWorkdir: this.mountedWorkdir,
      mountedMetadir: job.mountedMetadir,
      cmd: job.cmd,
      wrapperInit: this.jobcmdWrapperInit,
      init: this.jobcmdInit(job),
      prescript: this.prescript,
      prep: this.jobcmdPrep(job),
      postscript: this.postscript,
      end: this.jobcmdEnd(job),
      timeout: this.timeout,
    });
  }

  /**
   * Write a job's wrapper into its metadir.
   *
   * @param job The job.
   * @returns The wrapper's path as the job sees it.
   */
  wrappedJobScript(job: Job): Promise<string> {
    // Small files on the job path are written synchronously: a thread-pool hop costs more.
    try {
      Deno.writeTextFileSync(join(job.metadir, this.wrapperName), this.wrapJobScript(job), {
        mode: 0o644,
      });
    } catch (e) {
      return Promise.reject(e);
    }
    return Promise.resolve(this.wrapperPath(job));
  }

  /** The wrapper's file name: `job.wrapped.<suffix>`. */
  get wrapperName(): string {
    return `job.wrapped.${this.wrapperSuffix}`;
  }

  /**
   * The exact argv that starts a job (what `job.submission` holds): the engine command,
   * then the wrapper's path as the job sees it.
   *
   * @param job The job.
   * @returns The argv.
   */
  submissionArgv(job: Job): string[] {
    return [...this.engineCommand(job), this.wrapperPath(job)];
  }

  /**
   * The wrapper's path as the job sees it.
   *
   * @param job The job.
   * @returns The path.
   */
  wrapperPath(job: Job): string {
    return `${job.mountedMetadir}/${this.wrapperName}`;
  }

  /**
   * Start a job: write its wrapper and `job.submission`, spawn the process, write
   * `job.jid`. Its end is watched from then on.
   *
   * @param job The job (its metadir must exist).
   * @returns The job's id (container name or pid).
   */
  async submitJob(job: Job): Promise<string> {
    await this.wrappedJobScript(job);
    const argv = this.submissionArgv(job);
    Deno.writeTextFileSync(job.submissionFile, argv.join("\n") + "\n");
    let open = () => {};
    const gate = new Promise<void>((resolve) => open = resolve);
    const process = spawnJobProcess(
      argv,
      { ...this.processEnv(job), [WORKDIR_TAG]: this.workdir },
      () => gate.then(() => this.#started(job)),
      this.clientStderr,
    );
    const done = gate.then(() => process.exited).then(() => this.#complete(job, process))
      .finally(() => {
        // A finished job needs nothing of its process: let it go (10,000 jobs add up).
        if (this.#flights.get(job)?.process === process) this.#flights.delete(job);
      });
    this.#flights.set(job, { process, done, open });
    const jid = this.jobId(job, process.pid);
    Deno.writeTextFileSync(job.jidFile, jid + "\n");
    if (!this.#holding.has(job)) open();
    return jid;
  }

  /**
   * The id of a started job: its pid by default, a container name for docker/podman.
   *
   * @param _job The job.
   * @param pid The pid of the process that was spawned.
   * @returns The id.
   */
  jobId(_job: Job, pid: number): string {
    return String(pid);
  }

  /**
   * Submit a job unless it runs already or a plugin cancels; a submission that fails
   * makes the job FAILED with rc -2 and the error in `job.stderr`.
   *
   * @param job The job.
   */
  async submitJobAndUpdateStatus(job: Job): Promise<void> {
    if (await this.jobIsSubmittedOrRunning(job)) return;
    if (!(await this.plugins.call("onJobSubmitting", this, job))) return;
    await this.#startSlot(job);
    this.#holding.add(job);
    try {
      if (job.trial === 0) await job.clean();
      job.trial++;
      job.killed = false;
      job.rc = null;
      job.startedAt = null;
      job.endedAt = null;
      job.jid = await this.submitJob(job);
      job.submittedAt ??= Date.now();
      this.setStatus(job, JobStatus.SUBMITTED);
      await this.plugins.call("onJobSubmitted", this, job);
      await this.#poll(job);
    } catch (e) {
      this.#endSlot(job);
      const flight = this.#flights.get(job);
      if (flight) {
        // Spawned, then something failed: do not leave it running unwatched.
        job.killed = true;
        this.killReason = `the job was killed: its submission failed (${errorText(e)})`;
        flight.open();
        await this.killJob(job).catch(() => {});
        await flight.done;
        return;
      }
      job.rc = RC_REFUSED;
      job.endedAt = Date.now();
      await writeQuietly(job.stderrFile, `xqc: could not submit the job: ${errorText(e)}\n`);
      await writeQuietly(job.rcFile, `${RC_REFUSED}\n`);
      await writeQuietly(job.statusFile, `${JobStatus.FAILED}\n`);
      this.setStatus(job, JobStatus.FAILED);
      await this.plugins.call("onJobFailed", this, job);
    } finally {
      this.#holding.delete(job);
      this.#flights.get(job)?.open();
    }
  }

  /**
   * Wait for a submitted job to end (its status is then FINISHED or FAILED).
   *
   * @param job The job.
   */
  async waitJob(job: Job): Promise<void> {
    await this.#flights.get(job)?.done;
  }

  /**
   * Kill a job where it runs.
   *
   * @param job The job.
   */
  abstract killJob(job: Job): Promise<void>;

  /**
   * Kill a job that runs, unless a plugin cancels, and wait until it is gone. The job
   * ends FAILED, marked killed, with the reason in `job.stderr`.
   *
   * @param job The job.
   */
  async killJobAndUpdateStatus(job: Job): Promise<void> {
    const flight = this.#flights.get(job);
    if (!flight || flight.process.hasExited) return;
    const before = job.status;
    this.setStatus(job, JobStatus.KILLING);
    if (!(await this.plugins.call("onJobKilling", this, job))) {
      if (job.status === JobStatus.KILLING) this.setStatus(job, before);
      return;
    }
    job.killed = true;
    await this.killJob(job);
    await flight.done;
  }

  /**
   * Kill every job of a list that is submitted or running, all at once.
   *
   * @param jobs The jobs.
   */
  async killRunningJobs(jobs: readonly Job[]): Promise<void> {
    await Promise.all(
      jobs.filter((job) => this.#flights.has(job)).map((job) => this.killJobAndUpdateStatus(job)),
    );
  }

  /**
   * Whether a job's process is alive.
   *
   * @param job The job.
   * @returns `true` while it runs.
   */
  jobIsRunning(job: Job): Promise<boolean> {
    const flight = this.#flights.get(job);
    return Promise.resolve(flight !== undefined && !flight.process.hasExited);
  }

  /**
   * Whether a job is submitted or running (and really alive).
   *
   * @param job The job.
   * @returns `true` when it is.
   */
  async jobIsSubmittedOrRunning(job: Job): Promise<boolean> {
    const status = job.status;
    if (
      status !== JobStatus.SUBMITTED && status !== JobStatus.RUNNING &&
      status !== JobStatus.KILLING
    ) return false;
    return await this.jobIsRunning(job);
  }

  /**
   * Run a failed job again: its files move to `job.retry/<trial>/` and it is submitted.
   *
   * @param job The job.
   */
  async retryJob(job: Job): Promise<void> {
    this.#flights.delete(job);
    await job.clean(true);
    job.jid = "";
    this.setStatus(job, JobStatus.QUEUED);
    await this.submitJobAndUpdateStatus(job);
  }

  /**
   * Look at a list of jobs: with `"submittable"`, whether another job may start (fewer
   * than `forks` are submitted or running); with `"allDone"`, whether every job ended.
   *
   * @param jobs The jobs.
   * @param on What to ask.
   * @returns The answer.
   */
  pollingJobs(jobs: readonly Job[], on: "submittable" | "allDone"): boolean {
    if (on === "submittable") {
      const busy = jobs.filter((job) =>
        job.status === JobStatus.SUBMITTED || job.status === JobStatus.RUNNING ||
        job.status === JobStatus.KILLING
      ).length;
      return busy < this.forks;
    }
    return jobs.every((job) =>
      job.status === JobStatus.FINISHED || job.status === JobStatus.FAILED || job.skipped
    );
  }

  /**
   * Whether a failed job should run again under the error strategy.
   *
   * @param job The job.
   * @returns `true` to retry.
   */
  shouldRetry(job: Job): boolean {
    return job.status === JobStatus.FAILED && !job.killed &&
      this.errorStrategy === JobErrorStrategy.RETRY && job.trial <= this.numRetries;
  }

  /**
   * Set a job's status and record the change.
   *
   * @param job The job.
   * @param status The new status.
   */
  setStatus(job: Job, status: JobStatusCode): void {
    job.status = status;
    this.onJobChange(job);
  }

  /**
   * Wait until a job's process has gone, up to a limit (for kills).
   *
   * @param job The job.
   * @param ms The limit in milliseconds.
   * @returns `true` when the process has gone.
   */
  async waitGone(job: Job, ms: number): Promise<boolean> {
    const flight = this.#flights.get(job);
    if (!flight || flight.process.hasExited) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
    const gone = await Promise.race([flight.process.exited.then(() => true), late]);
    clearTimeout(timer);
    return gone;
  }

  /**
   * The process of a job in flight.
   *
   * @param job The job.
   * @returns Its process, if it was spawned by this scheduler.
   */
  protected processOf(job: Job): JobProcess | undefined {
    return this.#flights.get(job)?.process;
  }

  /**
   * Explain why a job's process ended without an rc.
   *
   * @param process The process.
   * @param status How it exited.
   * @returns A sentence for `job.stderr`.
   */
  protected explainLostJob(process: JobProcess, status: Deno.CommandStatus): string {
    let how = status.signal ? `signal ${status.signal}` : `exit code ${status.code}`;
    if (status.code === 137 || status.signal === "SIGKILL") {
      how += ": killed by SIGKILL, out of memory or killed from outside";
    }
    const said = process.output.trim();
    return process.sawRunning
      ? `xqc: the job's process ended (${how}) before the job wrote its rc` +
        (said ? `: ${said}` : "")
      : `xqc: the job did not start (${how})` + (said ? `: ${said}` : "");
  }

  async #poll(job: Job): Promise<void> {
    if (!this.plugins.has("onJobPolling")) return;
    const counter = (this.#polls.get(job) ?? 0) + 1;
    this.#polls.set(job, counter);
    await this.plugins.call("onJobPolling", this, job, counter);
  }

  #started(job: Job): void {
    this.#endSlot(job);
    job.startedAt = Date.now();
    this.setStatus(job, JobStatus.RUNNING);
    this.plugins.call("onJobStarted", this, job).catch((e) => reportHookError("onJobStarted", e));
    this.#poll(job).catch((e) => reportHookError("onJobPolling", e));
  }

  async #complete(job: Job, process: JobProcess): Promise<void> {
    this.#endSlot(job);
    const status = await process.exited;
    job.endedAt = Date.now();
    let rc = await job.readRc();
    if (job.killed) {
      if (rc === null) {
        rc = status.signal ? 128 + signalNumber(status.signal) : 137;
        await writeQuietly(job.rcFile, `${rc}\n`);
      }
      await appendQuietly(job.stderrFile, `xqc: ${this.killReason}\n`);
      await writeQuietly(job.statusFile, `${JobStatus.FAILED}\n`);
      job.rc = rc;
      this.setStatus(job, JobStatus.FAILED);
      await this.plugins.call("onJobKilled", this, job);
      return;
    }
    if (rc === null) {
      rc = process.sawRunning ? RC_VANISHED : RC_REFUSED;
      await appendQuietly(job.stderrFile, this.explainLostJob(process, status) + "\n");
      await writeQuietly(job.rcFile, `${rc}\n`);
      await writeQuietly(job.statusFile, `${JobStatus.FAILED}\n`);
    }
    job.rc = rc;
    if (rc === 0) {
      this.setStatus(job, JobStatus.FINISHED);
      await this.plugins.call("onJobSucceeded", this, job);
    } else {
      this.setStatus(job, JobStatus.FAILED);
      await this.plugins.call("onJobFailed", this, job);
    }
  }

  async #startSlot(job: Job): Promise<void> {
    while (this.#starting.size >= this.submissionBatch) {
      await new Promise<void>((resolve) => this.#startWaiters.push(resolve));
    }
    this.#starting.add(job);
  }

  #endSlot(job: Job): void {
    if (this.#starting.delete(job)) this.#startWaiters.shift()?.();
  }
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function signalNumber(signal: string): number {
  return SIGNALS[signal] ?? 9;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function reportHookError(hook: string, e: unknown): void {
  console.error(`xqc: plugin hook ${hook} failed: ${errorText(e)}`);
}

async function writeQuietly(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text);
  } catch {
    // The metadir may be gone (a removed workdir); the Kv record still says it.
  }
}

async function appendQuietly(path: string, text: string): Promise<void> {
  try {
    await Deno.writeTextFile(path, text, { append: true });
  } catch {
    // As above.
  }
}
