// The orchestrator: feeds jobs to a scheduler with at most `forks` at once, applies the
// error strategy, records every change in Deno.Kv, and stops cleanly on signals.

import type { Job, JobCommand, JobOptions } from "./job.ts";
import { validateJobInput } from "./job.ts";
import { ContainerScheduler } from "./container_scheduler.ts";
import { LocalScheduler } from "./local_scheduler.ts";
import { type Plugin, PluginManager } from "./plugin.ts";
import type { Scheduler, SchedulerOptions } from "./scheduler.ts";
import { type JobRecord, type RunRecord, StateStore } from "./state.ts";
import { JobErrorStrategy, type JobErrorStrategyName, JobStatus } from "./status.ts";
import { type RunSummary, summarize } from "./summary.ts";
import { checkWorkdir, claimWorkdir, type WorkdirClaim } from "./workdir.ts";

/** A scheduler class that {@linkcode Xqute} can build from options. */
export type SchedulerClass = new (options: Record<string, unknown>) => Scheduler;

/** The schedulers known by name. */
export const SCHEDULERS: Record<string, SchedulerClass> = {
  local: LocalScheduler as unknown as SchedulerClass,
  container: ContainerScheduler as unknown as SchedulerClass,
};

/** Options of {@linkcode Xqute}, as xqute's, in camelCase. */
export interface XquteOptions {
  /** `"local"`, `"container"`, a scheduler, or a scheduler class (default `"local"`). */
  scheduler?: string | Scheduler | SchedulerClass;
  /** How many jobs run at once (default 1). */
  forks?: number;
  /** Where metadirs and state go (default `./.xqute`). */
  workdir?: string;
  /** `"ignore"`, `"retry"` or `"halt"` (default `"ignore"`). */
  errorStrategy?: JobErrorStrategyName;
  /** Retries per job with `"retry"` (default 3). */
  numRetries?: number;
  /** How many jobs may be starting at once (default 8). */
  submissionBatch?: number;
  /** The first part of container names (default `"xqc"`). */
  jobnamePrefix?: string;
  /** Seconds between liveness checks of running containers (default 60). */
  recheckInterval?: number;
  /** Options for the scheduler (`image`, `bin`, `volumes`, … for containers). */
  schedulerOpts?: Record<string, unknown>;
  /** Plugins whose hooks run. */
  plugins?: Plugin[];
  /** Skip jobs that finished in an earlier run of this workdir with the same command. */
  resume?: boolean;
  /** Stop on SIGINT and SIGTERM, killing running jobs (default true). */
  handleSignals?: boolean;
}

/** Options of {@linkcode Xqute.runUntilComplete}. */
export interface RunOptions {
  /** Keep the run open for more `feed` calls until `stopFeeding()`. */
  keepFeeding?: boolean;
}

const HANDLED_SIGNALS: Deno.Signal[] = ["SIGINT", "SIGTERM"];

/**
 * Runs a batch of jobs: `feed` them, then `runUntilComplete()`.
 *
 * @example
 * ```ts
 * import { Xqute } from "@xq/container";
 * const xq = new Xqute({ forks: 2, workdir: await Deno.makeTempDir() });
 * await xq.feed(["echo", "hello"]);
 * await xq.feed("echo world | tr a-z A-Z");
 * const summary = await xq.runUntilComplete();
 * console.log(summary.succeeded); // 2
 * ```
 */
export class Xqute {
  /** The jobs fed so far, by index. */
  readonly jobs: Job[] = [];
  /** The scheduler that runs them. */
  readonly scheduler: Scheduler;
  /** The plugins. */
  readonly plugins: PluginManager;
  /** Whether jobs finished earlier in this workdir are skipped. */
  readonly resume: boolean;

  #handleSignals: boolean;
  #queue: Job[] = [];
  #waiters: (() => void)[] = [];
  #closed = false;
  #setup: Promise<void> | null = null;
  #run: Promise<RunSummary> | null = null;
  #store: StateStore | null = null;
  #claim: WorkdirClaim | null = null;
  #previous = new Map<number, JobRecord>();
  #runRecord: RunRecord | null = null;
  #stopping = false;
  #killing = false;
  #signal: Deno.Signal | null = null;
  #halted = false;
  #startedAt = 0;
  #signalHandlers: [Deno.Signal, () => void][] = [];

  /**
   * Make a run; nothing is checked on disk or written until the first `feed`.
   *
   * @param options The run's options.
   */
  constructor(options: XquteOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    this.plugins = new PluginManager(options.plugins ?? []);
    this.resume = options.resume ?? false;
    this.#handleSignals = options.handleSignals ?? true;
    const chosen = options.scheduler ?? "local";
    if (typeof chosen === "object") {
      this.scheduler = chosen;
    } else {
      const Class = typeof chosen === "string" ? SCHEDULERS[chosen] : chosen;
      if (!Class) {
        throw new TypeError(
          `Unknown scheduler "${chosen}" (expected ${Object.keys(SCHEDULERS).join(", ")})`,
        );
      }
      const base: SchedulerOptions = {
        forks: options.forks,
        workdir: options.workdir,
        errorStrategy: options.errorStrategy,
        numRetries: options.numRetries,
        submissionBatch: options.submissionBatch,
        jobnamePrefix: options.jobnamePrefix,
        recheckInterval: options.recheckInterval,
      };
      const defined = Object.fromEntries(Object.entries(base).filter(([, v]) => v !== undefined));
      this.scheduler = new Class({ ...defined, ...(options.schedulerOpts ?? {}) });
    }
    this.scheduler.plugins = this.plugins;
    this.scheduler.onJobChange = (job) => this.#record(job);
  }

  /** Whether the run still takes jobs: until `stopFeeding()`, `cancel()` or a signal. */
  get feeding(): boolean {
    return !this.#closed;
  }

  /** The run's id (part of container names and labels). */
  get runId(): string {
    return this.scheduler.runId;
  }

  /**
   * Add a job. The first call checks the engine and image and claims the workdir.
   *
   * @param cmd A shell command line (run by bash) or an argv (passed literally).
   * @param options The job's envs.
   * @returns The job.
   * @throws {TypeError} For an empty command or bad envs.
   */
  async feed(cmd: JobCommand, options: JobOptions = {}): Promise<Job> {
    validateJobInput(cmd, options.envs ?? {});
    if (this.#closed) throw new Error("The run no longer takes jobs (stopFeeding was called)");
    await this.#ensureSetup();
    const job = this.scheduler.createJob(this.jobs.length, cmd, options.envs ?? {});
    this.jobs.push(job);
    const hash = await this.#hash(job);
    const before = this.#previous.get(job.index);
    await this.plugins.call("onJobInit", this.scheduler, job);
    if (this.resume && before?.status === JobStatus.FINISHED && before.hash === hash) {
      job.skipped = true;
      job.rc = before.rc;
      job.trial = before.trial;
      this.scheduler.setStatus(job, JobStatus.FINISHED);
    } else {
      this.scheduler.setStatus(job, JobStatus.QUEUED);
      await this.plugins.call("onJobQueued", this.scheduler, job);
      this.#queue.push(job);
      this.#waiters.shift()?.();
    }
    if (this.#runRecord) {
      this.#runRecord.total = this.jobs.length;
      this.#store?.putRun(this.#runRecord);
    }
    return job;
  }

  /**
   * Run the fed jobs until all have ended. With `keepFeeding`, the run stays open for
   * more `feed` calls, and the promise resolves after `stopFeeding()`.
   *
   * @param options `keepFeeding`.
   * @returns The run summary.
   */
  async runUntilComplete(options: RunOptions = {}): Promise<RunSummary> {
    await this.#ensureSetup();
    this.#run ??= this.#loop();
    if (!options.keepFeeding) this.#close();
    return await this.#run;
  }

  /**
   * End a `keepFeeding` run: no more jobs are taken; the ones fed run to their end.
   *
   * @returns The run summary.
   */
  async stopFeeding(): Promise<RunSummary> {
    this.#close();
    await this.#ensureSetup();
    this.#run ??= this.#loop();
    return await this.#run;
  }

  /**
   * Stop the run: jobs not started yet will not start. With a signal (`"SIGINT"`,
   * `"SIGTERM"`), the running jobs are killed too, as those signals do to a run.
   *
   * @param signal The signal to act on.
   */
  async cancel(signal?: Deno.Signal): Promise<void> {
    this.#stopping = true;
    this.#close();
    if (signal) {
      this.#killing = true;
      this.#signal ??= signal;
      this.scheduler.killReason = `the job was killed: the run received ${signal}`;
      await this.scheduler.killRunningJobs(this.jobs);
    }
  }

  #close(): void {
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  async #ensureSetup(): Promise<void> {
    this.#setup ??= this.#prepare();
    await this.#setup;
  }

  async #prepare(): Promise<void> {
    const scheduler = this.scheduler;
    await checkWorkdir(scheduler.workdir);
    await scheduler.prepare();
    this.#claim = await claimWorkdir(scheduler.workdir);
    try {
      this.#store = await StateStore.open(scheduler.workdir);
      if (this.resume) {
        for (const record of await this.#store.readJobs()) this.#previous.set(record.index, record);
      }
      await this.#store.clearJobs();
      const reaped = await scheduler.reapOrphans();
      if (reaped.length) {
        console.error(
          `xqc: an earlier run of this workdir left these running; stopped: ${reaped.join(", ")}`,
        );
      }
    } catch (e) {
      this.#claim.release();
      throw e;
    }
    this.#runRecord = {
      runId: scheduler.runId,
      pid: Deno.pid,
      hostname: Deno.hostname(),
      scheduler: scheduler.wrapperSuffix,
      image: scheduler.image,
      bin: scheduler.bin,
      forks: scheduler.forks,
      total: this.jobs.length,
      state: "running",
      signal: null,
      startedAt: Date.now(),
      endedAt: null,
    };
    this.#store.putRun(this.#runRecord);
    await this.plugins.call("onInit", this);
  }

  async #loop(): Promise<RunSummary> {
    this.#startedAt = performance.now();
    this.#installSignals();
    try {
      const workers = Array.from({ length: this.scheduler.forks }, () => this.#worker());
      await Promise.all(workers);
    } finally {
      this.#removeSignals();
    }
    const summary = summarize(
      this.scheduler.workdir,
      this.jobs,
      Math.round(performance.now() - this.#startedAt),
      this.#signal,
      this.#halted,
    );
    if (this.#runRecord) {
      this.#runRecord.state = this.#signal ? "interrupted" : this.#halted ? "halted" : "done";
      this.#runRecord.signal = this.#signal;
      this.#runRecord.endedAt = Date.now();
      this.#store?.putRun(this.#runRecord);
    }
    await this.plugins.call("onShutdown", this, this.#signal ?? undefined);
    await this.#store?.close();
    this.#claim?.release();
    return summary;
  }

  async #take(): Promise<Job | undefined> {
    for (;;) {
      if (this.#stopping) return undefined;
      const job = this.#queue.shift();
      if (job) return job;
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  async #worker(): Promise<void> {
    for (let job = await this.#take(); job; job = await this.#take()) {
      await this.#runJob(job);
    }
  }

  async #runJob(job: Job): Promise<void> {
    const scheduler = this.scheduler;
    await scheduler.submitJobAndUpdateStatus(job);
    // A kill that came while this job was being submitted did not see it: kill it now.
    if (this.#killing) await scheduler.killJobAndUpdateStatus(job);
    for (;;) {
      await scheduler.waitJob(job);
      if (job.status !== JobStatus.FAILED || job.killed || this.#stopping) return;
      if (scheduler.shouldRetry(job)) {
        await scheduler.retryJob(job);
        continue;
      }
      if (scheduler.errorStrategy === JobErrorStrategy.HALT) {
        this.#halted = true;
        this.#stopping = true;
        this.#killing = true;
        this.#close();
        scheduler.killReason = `the job was killed: the run halted because job ${job.index} failed`;
        await scheduler.killRunningJobs(this.jobs);
      }
      return;
    }
  }

  #record(job: Job): void {
    this.#store?.putJob({
      index: job.index,
      cmd: job.cmdText,
      status: job.status,
      rc: job.rc,
      trial: job.trial,
      jid: job.jid,
      killed: job.killed,
      skipped: job.skipped,
      hash: this.#hashes.get(job) ?? "",
      submittedAt: job.submittedAt,
      startedAt: job.startedAt,
      endedAt: job.endedAt,
    });
  }

  #hashes = new WeakMap<Job, string>();

  async #hash(job: Job): Promise<string> {
    const scheduler = this.scheduler;
    const identity = JSON.stringify({
      cmd: job.cmd,
      envs: Object.entries(scheduler.processEnv(job)).sort(),
      image: scheduler.image,
    });
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(identity));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    this.#hashes.set(job, hex);
    return hex;
  }

  #installSignals(): void {
    if (!this.#handleSignals || Deno.build.os === "windows") return;
    for (const signal of HANDLED_SIGNALS) {
      const handler = () => {
        if (this.#signal) {
          console.error(`xqc: ${signal} again: still stopping the running jobs`);
          return;
        }
        this.cancel(signal).catch((e) => console.error(`xqc: stopping failed: ${e}`));
      };
      Deno.addSignalListener(signal, handler);
      this.#signalHandlers.push([signal, handler]);
    }
  }

  #removeSignals(): void {
    for (const [signal, handler] of this.#signalHandlers.splice(0)) {
      Deno.removeSignalListener(signal, handler);
    }
  }
}
