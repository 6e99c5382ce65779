// The orchestrator: feeds jobs to a scheduler with at most `forks` at once, applies the
// error strategy, records every change in Deno.Kv, and stops cleanly on signals.

import type { Job, JobCommand, JobOptions } from "../core/job.ts";
import { validateJobInput } from "../core/job.ts";
import { parseResources, type Resources } from "../core/resources.ts";
import { type Logger, stderrLogger } from "../core/logger.ts";
import { checkKnownKeys } from "../core/options.ts";
import { jobRecordOf, type RunRecord, StateStore } from "../core/state.ts";
import { JobErrorStrategy, JobStatus } from "../core/status.ts";
import { type RunSummary, summarize } from "../core/summary.ts";
import { checkWorkdir, claimWorkdir, type WorkdirClaim } from "../core/workdir.ts";
import type { Scheduler } from "../schedulers/scheduler.ts";
import { PluginManager, type PluginRun } from "./plugin.ts";
import { startRechecks } from "./rechecks.ts";
import { createScheduler } from "./registry.ts";
import { EarlierJobs, jobHash } from "./resume.ts";
import { InFlight } from "./in_flight.ts";
import { JobHashes } from "./hashes.ts";
import { RunTally } from "./tally.ts";
import { listenForStopSignals, quitNowMessage, SIGNAL_EXIT_CODES } from "./signals.ts";
import { TraceWriter } from "./trace.ts";
import { type RunOptions, XQUTE_OPTION_KEYS, type XquteOptions } from "./xqute_options.ts";
import { RunQueue } from "./run_queue.ts";
import { RunJobs } from "./run_jobs.ts";

/**
 * Runs a batch of jobs: `feed` them, then `runUntilComplete()`.
 *
 * @example
 * ```ts
 * import { Xqute } from "@xq/container";
 * import { assertEquals } from "@std/assert";
 * const xq = new Xqute({ forks: 2, workdir: await Deno.makeTempDir() });
 * await xq.feed(["echo", "hello"]);
 * await xq.feed("echo world | tr a-z A-Z");
 * const summary = await xq.runUntilComplete();
 * assertEquals(summary.succeeded, 2);
 * ```
 */
export class Xqute implements PluginRun {
  /** The scheduler that runs them. */
  readonly scheduler: Scheduler;
  /** The plugins. */
  readonly plugins: PluginManager;
  /** Whether jobs finished earlier in this workdir are skipped. */
  readonly resume: boolean;
  /** Where messages go. */
  readonly logger: Logger;

  #handleSignals: boolean;
  #queue = new RunQueue();
  #setup: Promise<void> | null = null;
  #run: Promise<RunSummary> | null = null;
  #store: StateStore | null = null;
  #trace: TraceWriter | null = null;
  #claim: WorkdirClaim | null = null;
  #earlier = new EarlierJobs();
  #hashes = new JobHashes();
  #runRecord: RunRecord | null = null;
  #tally = new RunTally();
  // The run's record as it is when a batch is written, with the jobs' counts.
  #runNow = (): RunRecord => ({ ...this.#runRecord!, ...this.#tally.snapshot() });
  #stopping = false;
  #killReason: string | null = null;
  #signal: Deno.Signal | null = null;
  #halted = false;
  #startedAt = 0;
  #jobs = new RunJobs();

  /**
   * Make a run; nothing is checked on disk or written until the first `feed`.
   *
   * @param options The run's options.
   */
  constructor(options: XquteOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    checkKnownKeys(options, XQUTE_OPTION_KEYS, "Xqute");
    this.plugins = new PluginManager(options.plugins ?? []);
    this.resume = options.resume ?? false;
    this.logger = options.logger ?? stderrLogger;
    this.#handleSignals = options.handleSignals ?? true;
    this.scheduler = createScheduler(options.scheduler ?? "local", {
      forks: options.forks,
      workdir: options.workdir,
      errorStrategy: options.errorStrategy,
      numRetries: options.numRetries,
      submissionBatch: options.submissionBatch,
      jobnamePrefix: options.jobnamePrefix,
      recheckInterval: options.recheckInterval,
    }, options.schedulerOpts);
    this.scheduler.hooks = this.plugins;
    this.scheduler.logger = this.logger;
    this.scheduler.onJobChange = (job) => this.#record(job);
  }

  /**
   * The jobs fed so far, by index, in a new array at each read. One that has ended is kept as
   * a row, not an object, and is read back as a new Job with the state it ended in.
   */
  get jobs(): readonly Job[] {
    return [...this.#jobs];
  }

  /** Whether the run still takes jobs: until `stopFeeding()`, `cancel()` or a signal. */
  get feeding(): boolean {
    return !this.#queue.closed;
  }

  /** The run's id (part of container names and labels). */
  get runId(): string {
    return this.scheduler.runId;
  }

  /**
   * Add a job. The first call checks the engine and image and claims the workdir. While the
   * run runs, a call waits as long as 1,000 jobs wait to start (run_queue.ts).
   *
   * @param cmd A shell command line (run by bash) or an argv (passed literally).
   * @param options The job's envs, and its own image, cpus, memory and gpus.
   * @returns The job.
   * @throws {TypeError} For an empty command, bad envs, or an image or resources its
   *   scheduler cannot give.
   * @throws {RangeError} For a bad resource value.
   * @throws {EngineUnavailableError} When its image cannot be had.
   */
  async feed(cmd: JobCommand, options: JobOptions = {}): Promise<Job> {
    validateJobInput(cmd, options.envs ?? {});
    if (options.image !== undefined && (typeof options.image !== "string" || !options.image)) {
      throw new TypeError(`Job ${this.#jobs.length}: "image" must be an image name or path`);
    }
    const resources = parseResources(options, (key) => `Job ${this.#jobs.length}: "${key}"`);
    // A job is made when there is room for it (run_queue.ts).
    if (!await this.#queue.enter(this.#run !== null)) {
      throw new Error("The run no longer takes jobs (stopFeeding was called)");
    }
    try {
      return await this.#queue.inTurn(() => this.#enter(cmd, options, resources));
    } finally {
      this.#queue.entered();
    }
  }

  async #enter(cmd: JobCommand, options: JobOptions, resources: Resources): Promise<Job> {
    await this.#ensureSetup();
    const job = this.scheduler.createJob(this.#jobs.length, cmd, options.envs ?? {}, {
      image: options.image,
      resources,
    });
    // Its own image is pulled (once for all the jobs that name it) before it is queued.
    await this.scheduler.prepareJob(job);
    this.#jobs.add(job);
    const hash = await jobHash(job, this.scheduler);
    this.#hashes.set(job.index, hash);
    const twin = this.#earlier.place(job, hash);
    await this.plugins.event("onJobInit", this.scheduler, job);
    if (twin?.adopt) this.scheduler.adopt(job, twin.jid, twin.trial);
    if (twin && !twin.adopt) {
      job.skipped = true;
      job.rc = 0;
      job.trial = twin.trial;
      this.scheduler.setStatus(job, JobStatus.FINISHED);
      this.#jobs.retire(job);
    } else {
      this.scheduler.setStatus(job, JobStatus.QUEUED);
      await this.plugins.event("onJobQueued", this.scheduler, job);
      this.#queue.push(job);
    }
    if (this.#runRecord) {
      this.#runRecord.total = this.#jobs.length;
      this.#store?.putRun(this.#runNow);
    }
    await this.#store?.room();
    return job;
  }

  /**
   * Start the run and return at once (once the engine is checked): the run goes on in the
   * background, taking `feed` calls, and `stopFeeding()` resolves to the summary.
   *
   * @param options `{ keepFeeding: true }`.
   * @returns Nothing, at once.
   */
  runUntilComplete(options: { keepFeeding: true }): Promise<void>;
  /**
   * Run the fed jobs until all have ended.
   *
   * @param options Without `keepFeeding`.
   * @returns The run summary.
   */
  runUntilComplete(options?: { keepFeeding?: false }): Promise<RunSummary>;
  /**
   * Run the fed jobs: to their end, or with `keepFeeding` returning at once.
   *
   * @param options `keepFeeding`.
   * @returns The run summary; nothing with `keepFeeding`.
   */
  runUntilComplete(options?: RunOptions): Promise<RunSummary | void>;
  async runUntilComplete(options: RunOptions = {}): Promise<RunSummary | void> {
    await this.#ensureSetup();
    this.#run ??= this.#loop();
    if (options.keepFeeding) return;
    this.#close();
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
   * Stop the run: jobs not started yet will not start (retries included). With a signal
   * (`"SIGINT"`, `"SIGTERM"`, `"SIGHUP"`), the running jobs are killed too, as those
   * signals do to a run.
   *
   * @param signal The signal to act on.
   */
  async cancel(signal?: Deno.Signal): Promise<void> {
    this.#stop();
    if (signal) {
      this.#signal ??= signal;
      await this.#killAll(`the job was killed: the run received ${signal}`);
    }
  }

  /**
   * Stop the run for a reason of the caller's (a job that could not be fed): jobs not
   * started will not start, and the running ones are killed, as a stop signal does.
   *
   * @param reason Why, for the killed jobs' `job.stderr`.
   */
  async abort(reason: string): Promise<void> {
    this.#stop();
    await this.#killAll(`the job was killed: ${reason}`);
  }

  #stop(): void {
    this.#stopping = true;
    this.scheduler.cancelled = true;
    this.#close(true);
  }

  async #killAll(reason: string): Promise<void> {
    this.#killReason ??= reason;
    await this.scheduler.killRunningJobs(this.#jobs.live(), reason);
  }

  #close(stop = false): void {
    if (!this.#queue.closed) this.scheduler.feedingEnded();
    this.#queue.close(stop);
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
      this.#store = await StateStore.open(scheduler.workdir, this.logger);
      this.#trace = new TraceWriter(scheduler.workdir);
      // Resumed, the last run's records join the earlier ones, kept until a run that is not
      // resumed: one stopped while it was fed forgets none of the jobs it had not reached.
      if (this.resume) {
        await this.#store.keepEarlier((record) => this.#earlier.add(record));
        // Jobs an earlier run left running where they run are taken over, not cancelled.
        scheduler.keepForAdoption(this.#earlier.adoptable(await scheduler.liveJobIds()));
      } else await this.#store.clearJobs();
      const reaped = (await scheduler.reapOrphans()).join(", ");
      const left = "an earlier run of this workdir left these running; stopped";
      if (reaped) this.logger.info(`${left}: ${reaped}`);
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
      jobnamePrefix: scheduler.jobnamePrefix,
      forks: scheduler.forks,
      total: this.#jobs.length,
      state: "running",
      signal: null,
      startedAt: Date.now(),
      endedAt: null,
    };
    this.#store.putRun(this.#runNow);
    await this.plugins.init(this);
  }

  async #loop(): Promise<RunSummary> {
    this.#startedAt = performance.now();
    const unlisten = this.#handleSignals ? this.#listen() : () => {};
    const stopRechecks = startRechecks(this.scheduler, () => this.#jobs.live(), this.logger);
    try {
      await this.#dispatch();
    } finally {
      stopRechecks();
      unlisten();
    }
    const ms = Math.round(performance.now() - this.#startedAt);
    const summary = summarize(this.scheduler.workdir, this.#jobs, ms, this.#signal, this.#halted);
    for (const job of this.#jobs.live()) {
      // Jobs that never started are CANCELLED now, as in the summary.
      if (job.status === JobStatus.QUEUED || job.status === JobStatus.INIT) {
        this.#put(job, true);
      }
    }
    if (this.#runRecord) {
      this.#runRecord.state = this.#signal ? "interrupted" : this.#halted ? "halted" : "done";
      this.#runRecord.signal = this.#signal;
      this.#runRecord.endedAt = Date.now();
      this.#store?.putRun(this.#runNow);
    }
    await this.scheduler.release().catch((e) => this.logger.warn(`releasing the run: ${e}`));
    await this.plugins.shutdown(this, this.#signal ?? undefined);
    await this.#store?.close();
    this.#claim?.release();
    return summary;
  }

  /**
   * Start queued jobs while fewer than the scheduler allows are in flight; once the last
   * one is submitted, tell the scheduler that no more wait.
   */
  async #dispatch(): Promise<void> {
    const active = new InFlight();
    const submitting = new Set<Promise<void>>();
    for (let job = await this.#queue.take(); job; job = await this.#queue.take()) {
      await active.below(this.scheduler.maxInFlight(this.#queue.length + 1 + active.size));
      if (this.#stopping) break;
      const submission = this.scheduler.submitJobAndUpdateStatus(job);
      submitting.add(submission);
      submission.finally(() => submitting.delete(submission)).catch(() => {});
      // Once ended, the job is kept as a row (run_jobs.ts).
      active.add(submission.then(() => this.#runJob(job)).finally(() => this.#jobs.retire(job)));
    }
    await Promise.all(submitting);
    if (!this.#stopping) this.scheduler.drained();
    await active.settled();
  }

  /** A submitted job: to its end, through its retries. */
  async #runJob(job: Job): Promise<void> {
    const scheduler = this.scheduler;
    // A kill that came while this job was being submitted did not see it: kill it now.
    if (this.#killReason) await scheduler.killJobAndUpdateStatus(job, this.#killReason);
    for (;;) {
      await scheduler.waitJob(job);
      if (job.status !== JobStatus.FAILED || job.killed || this.#stopping) return;
      if (scheduler.shouldRetry(job)) {
        await scheduler.retryJob(job);
        continue;
      }
      if (scheduler.errorStrategy === JobErrorStrategy.HALT) {
        this.#halted = true;
        this.#stop();
        await this.#killAll(`the job was killed: the run halted because job ${job.index} failed`);
      }
      return;
    }
  }

  #listen(): () => void {
    return listenForStopSignals({
      stop: (signal) => {
        this.cancel(signal).catch((e) => this.logger.warn(`stopping failed: ${e}`));
      },
      again: (signal) => this.logger.warn(`${signal} again: still stopping the running jobs`),
      forceQuit: () => {
        this.logger.warn(quitNowMessage(this.#jobs.live(), this.scheduler.workdir));
        Deno.exit(SIGNAL_EXIT_CODES.SIGINT);
      },
    });
  }

  #put(job: Job, ended = false): void {
    const record = jobRecordOf(job, this.#hashes.get(job.index), ended);
    this.#tally.record(job.index, record.status);
    this.#store?.putJob(record);
    if (this.#runRecord) this.#store?.putRun(this.#runNow);
  }

  #record(job: Job): void {
    const hash = this.#hashes.get(job.index);
    this.#put(job);
    const ended = job.status === JobStatus.FINISHED || job.status === JobStatus.FAILED;
    // A job put back to wait where it runs (a requeue) had a start of its own.
    const requeued = job.status === JobStatus.SUBMITTED && job.startedAt !== null;
    if ((ended || requeued) && !job.skipped && this.#trace) {
      try {
        this.#trace.trialEnded(job, hash, job.image ?? this.scheduler.image, requeued);
      } catch (e) {
        this.logger.warn(`could not write ${this.#trace.path}: ${e}`);
        this.#trace = null;
      }
    }
  }
}
