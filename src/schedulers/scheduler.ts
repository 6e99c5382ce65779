// The scheduler base: a job's life (submit, run, end, kill, retry, recheck) over the
// trials that each subclass starts where its jobs run.

import type { Job } from "../core/job.ts";
import { type Logger, stderrLogger } from "../core/logger.ts";
import { JobErrorStrategy, JobStatus, type JobStatusCode, RC_REFUSED } from "../core/status.ts";
import { SchedulerBase } from "./base.ts";
import type { JobEventHook, JobHooks } from "./hooks.ts";
import { errorText, writeQuietly } from "./outcome.ts";
import { readJobFile } from "../core/job_files.ts";
import { settleTrial } from "./trial_end.ts";
import { Slots } from "./slots.ts";
import { recheckRunning } from "./recheck.ts";
import { SubmissionCancelled, type Trial, type TrialEnd } from "./trial.ts";

/**
 * The abstract scheduler: it submits jobs to something that runs them, knows when they
 * end, kills and retries them. Subclasses say how a trial starts (`submitJob`, which calls
 * `track`), how a job is killed (`killJob`) and how to ask whether a job id still runs.
 */
export abstract class Scheduler extends SchedulerBase {
  /** Who hears of job events (the plugins, set by the run). */
  declare hooks: JobHooks<Scheduler>;
  /** Where messages go. */
  logger: Logger = stderrLogger;
  /** Called on every change of a job's state (the run records it). */
  onJobChange: (job: Job) => void = () => {};
  /** Set when the run stops: no trial starts after that, retries included. */
  cancelled = false;

  #trials = new Map<Job, Trial>();
  #done = new Map<Job, Promise<void>>();
  #polls = new Map<Job, number>();
  #slots = new Slots<Job>(() => this.startingLimit);
  #adopting = new Map<Job, { jid: string; trial: number }>();

  /**
   * Start a trial of a job where it runs and `track` it.
   *
   * @param job The job (its metadir exists).
   * @returns The job's id (container name, pid, Slurm job id).
   * @throws {SubmissionCancelled} When the run stopped before it started.
   */
  abstract submitJob(job: Job): Promise<string>;

  /**
   * Kill a job where it runs; resolves once it is told (its trial ends after).
   *
   * @param job The job.
   */
  abstract killJob(job: Job): Promise<void>;

  /**
   * Whether a job id runs, asked of where it runs.
   *
   * @param jid The id.
   * @returns `true` while it runs.
   */
  protected abstract jidIsRunning(jid: string): Promise<boolean>;

  /**
   * The ids among some running jobs' that still run, in as few calls as the place they run
   * allows; by default one question per job.
   *
   * @param jobs Running jobs.
   * @returns Their ids that run.
   */
  protected async liveJids(jobs: readonly Job[]): Promise<Set<string>> {
    const alive = await Promise.all(jobs.map((job) => this.jidIsRunning(job.jid)));
    return new Set(jobs.filter((_, i) => alive[i]).map((job) => job.jid));
  }

  /** How many jobs may be starting at once: `submissionBatch`. */
  protected get startingLimit(): number {
    return this.submissionBatch;
  }

  /**
   * Whether a job is starting until it runs (a process's start) rather than until it is
   * submitted (a cluster's queue).
   */
  protected get slotUntilRunning(): boolean {
    return true;
  }

  /**
   * How many jobs may be in flight (submitted or running) at once, given how many are
   * queued or in flight: `forks`.
   *
   * @param _pending Jobs queued or in flight.
   * @returns The limit.
   */
  maxInFlight(_pending: number): number {
    return this.forks;
  }

  /**
   * Take over a job (placed in the earlier job's metadir) that an earlier run left running
   * where it runs (`--resume`): its next submission watches job `jid` of trial `trial`
   * instead of starting one, and its files stay.
   */
  adopt(job: Job, jid: string, trial: number): void {
    this.#adopting.set(job, { jid, trial });
  }

  /** The earlier job a job's submission takes over, until it is watched. */
  protected adopted(job: Job): { jid: string; trial: number } | undefined {
    return this.#adopting.get(job);
  }

  /** A job was put back to wait where it runs (a cluster requeued it): SUBMITTED again. */
  protected requeued(job: Job): void {
    if (job.status !== JobStatus.RUNNING) return;
    job.endedAt = Date.now();
    this.setStatus(job, JobStatus.SUBMITTED);
  }

  /** A requeued job runs again. */
  protected runsAgain(job: Job): void {
    const trial = this.#trials.get(job);
    if (trial) this.#started(job, trial);
  }

  /** Register a started trial (of `job`), from `submitJob`. */
  protected track(job: Job, trial: Trial): void {
    this.#trials.set(job, trial);
  }

  /** The live trial of a job, until it has ended and was accounted. */
  protected trialOf(job: Job): Trial | undefined {
    return this.#trials.get(job);
  }

  /**
   * Submit a job unless the run stopped, it runs already or a plugin cancels; a submission
   * that fails makes the job FAILED with rc -2 and the error in `job.stderr`.
   *
   * @param job The job.
   */
  async submitJobAndUpdateStatus(job: Job): Promise<void> {
    if (this.cancelled) return this.#notStarted(job);
    if (await this.jobIsSubmittedOrRunning(job)) return;
    if (!(await this.hooks.event("onJobSubmitting", this, job))) return;
    await this.#slots.take(job);
    if (this.cancelled) {
      this.#slots.release(job);
      return this.#notStarted(job);
    }
    try {
      // A first trial starts from a clean metadir; a retry keeps the last trial's files; an
      // adopted job runs on with its files.
      const adopted = this.#adopting.get(job);
      if (!adopted) await job.clean(job.trial > 0);
      job.trial = adopted?.trial ?? job.trial + 1;
      job.killed = false;
      job.killReason = null;
      job.rc = null;
      job.startedAt = null;
      job.endedAt = null;
      job.ranOutOfMemory = false;
      job.usage = null;
      job.addTrialLimits(this.trialResources(job));
      job.jid = await this.submitJob(job);
      this.#adopting.delete(job);
    } catch (e) {
      this.#adopting.delete(job);
      this.#slots.release(job);
      await this.#submissionFailed(job, e);
      return;
    }
    if (!this.slotUntilRunning) this.#slots.release(job);
    job.trialSubmittedAt = Date.now();
    job.submittedAt ??= job.trialSubmittedAt;
    this.setStatus(job, JobStatus.SUBMITTED);
    const trial = this.#trials.get(job)!;
    let open = () => {};
    const gate = new Promise<void>((resolve) => open = resolve);
    trial.running.then(() => gate).then(() => this.#started(job, trial));
    this.#done.set(job, gate.then(() => trial.ended).then((end) => this.#complete(job, end)));
    // A stop that came while the job was being submitted did not see it: it goes now.
    if (this.cancelled && !job.killed) {
      job.killed = true;
      job.killReason ??= "the job was killed: the run stopped as it was submitted";
      this.killJob(job).catch((e) => this.logger.warn(`could not kill job ${job.index}: ${e}`));
    }
    try {
      await this.hooks.event("onJobSubmitted", this, job);
      await this.#poll(job);
    } finally {
      open();
    }
  }

  /**
   * Wait for a submitted job to end (its status is then FINISHED or FAILED).
   *
   * @param job The job.
   */
  async waitJob(job: Job): Promise<void> {
    await this.#done.get(job);
  }

  /**
   * Kill a job that runs, unless a plugin cancels, and wait until it is gone. The job
   * ends FAILED, marked killed, with the reason in `job.stderr`.
   *
   * @param job The job.
   * @param reason Why, for `job.stderr` (the first reason given sticks).
   */
  async killJobAndUpdateStatus(job: Job, reason = "the job was killed"): Promise<void> {
    const trial = this.#trials.get(job);
    if (!trial || trial.hasEnded) return;
    const before = job.status;
    this.setStatus(job, JobStatus.KILLING);
    if (!(await this.hooks.event("onJobKilling", this, job))) {
      if (job.status === JobStatus.KILLING) this.setStatus(job, before);
      return;
    }
    job.killed = true;
    job.killReason ??= reason;
    await this.killJob(job);
    await this.waitJob(job);
  }

  /**
   * Kill every job of a list that is submitted or running, all at once.
   *
   * @param jobs The jobs.
   * @param reason Why, for their `job.stderr`.
   */
  async killRunningJobs(jobs: readonly Job[], reason?: string): Promise<void> {
    await Promise.all(
      jobs.filter((job) => this.#trials.has(job)).map((job) =>
        this.killJobAndUpdateStatus(job, reason)
      ),
    );
  }

  /**
   * Whether a job really runs: its `job.jid` asked of where it runs, so a scheduler of
   * another process sees it too.
   *
   * @param job The job.
   * @returns `true` while it runs.
   */
  async jobIsRunning(job: Job): Promise<boolean> {
    let jid: string;
    try {
      jid = (readJobFile(job.jidFile, 4096) ?? "").trim();
    } catch {
      return false;
    }
    return jid !== "" && await this.jidIsRunning(jid).catch(() => false);
  }

  /**
   * Whether a job is submitted or running (by its status here) and really alive.
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
   * Run a failed job again: it is submitted, and its files move to `job.retry/<trial>/`
   * when its next trial starts (a stop before then leaves them where they are). A job that
   * ran out of memory gets its memory multiplied by `memoryRetryFactor`.
   *
   * @param job The job.
   */
  async retryJob(job: Job): Promise<void> {
    if (this.cancelled) return;
    // A job that ran out of memory gets more: as Nextflow's `memory { 2.GB * task.attempt }`.
    if (job.ranOutOfMemory) job.memoryFactor *= this.memoryRetryFactor;
    this.#trials.delete(job);
    job.jid = "";
    this.setStatus(job, JobStatus.QUEUED);
    await this.submitJobAndUpdateStatus(job);
  }

  /**
   * Look at a list of jobs: the running ones are asked of where they run (a job whose
   * container or process vanished fails with rc -3), every job in flight gets
   * `onJobPolling`; then, with `"submittable"`, whether another job may start (fewer than
   * `forks` in flight), with `"allDone"`, whether every job ended. Retries start when a
   * job fails, not here.
   *
   * @param jobs The jobs.
   * @param on What to ask.
   * @returns The answer.
   */
  async pollingJobs(jobs: readonly Job[], on: "submittable" | "allDone"): Promise<boolean> {
    const live = jobs.filter((job) => this.#trials.get(job)?.hasEnded === false);
    await recheckRunning(live.filter((job) => job.status === JobStatus.RUNNING), {
      liveJids: (running) => this.liveJids(running),
      jidIsRunning: (jid) => this.jidIsRunning(jid),
      trialOf: (job) => this.#trials.get(job),
      logger: this.logger,
      gone: (jid) =>
        `xqc: the job's ${this.image ? "container" : "process"} ${jid} is gone, ` +
        `but its client did not end; found by the recheck every ${this.recheckInterval} s`,
    });
    for (const job of live) await this.#poll(job);
    if (on === "submittable") return live.length < this.forks;
    return jobs.every((job) =>
      job.skipped || job.status === JobStatus.FINISHED || job.status === JobStatus.FAILED
    );
  }

  /** Whether a failed job should run again under the error strategy. */
  shouldRetry(job: Job): boolean {
    return job.status === JobStatus.FAILED && !job.killed && !this.cancelled &&
      this.errorStrategy === JobErrorStrategy.RETRY && job.trial <= this.numRetries;
  }

  /** Set a job's status and record the change. */
  setStatus(job: Job, status: JobStatusCode): void {
    job.status = status;
    this.onJobChange(job);
  }

  /**
   * Wait until a job's trial has ended, up to a limit (for kills).
   *
   * @param job The job.
   * @param ms The limit in milliseconds.
   * @returns `true` when it has ended.
   */
  async waitGone(job: Job, ms: number): Promise<boolean> {
    const trial = this.#trials.get(job);
    if (!trial || trial.hasEnded) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<false>((r) => timer = setTimeout(() => r(false), ms));
    const gone = await Promise.race([trial.ended.then(() => true), late]);
    clearTimeout(timer);
    return gone;
  }

  /** Call a job event hook, reporting a listener's failure instead of throwing it. */
  protected async tell(hook: JobEventHook, job: Job): Promise<void> {
    try {
      await this.hooks.event(hook, this, job);
    } catch (e) {
      this.logger.warn(`plugin hook ${hook} failed: ${errorText(e)}`);
    }
  }

  async #submissionFailed(job: Job, e: unknown): Promise<void> {
    const trial = this.#trials.get(job);
    if (e instanceof SubmissionCancelled && !trial) {
      job.trial--;
      return this.#notStarted(job);
    }
    if (trial && !trial.hasEnded) {
      // Started, then something failed: do not leave it running unwatched.
      job.killed = true;
      job.killReason = `the job was killed: its submission failed (${errorText(e)})`;
      this.#done.set(job, trial.ended.then((end) => this.#complete(job, end)));
      await this.killJob(job).catch(() => {});
      await this.waitJob(job);
      return;
    }
    job.rc = RC_REFUSED;
    job.endedAt = Date.now();
    writeQuietly(job.stderrFile, `xqc: could not submit the job: ${errorText(e)}\n`);
    writeQuietly(job.rcFile, `${RC_REFUSED}\n`);
    writeQuietly(job.statusFile, `${JobStatus.FAILED}\n`);
    this.setStatus(job, JobStatus.FAILED);
    await this.tell("onJobFailed", job);
  }

  /** A retry the stop cancelled: the job's last trial, which failed, stands. */
  #notStarted(job: Job): void {
    if (job.trial > 0 && job.status === JobStatus.QUEUED) this.setStatus(job, JobStatus.FAILED);
  }

  async #poll(job: Job): Promise<void> {
    if (!this.hooks.has("onJobPolling")) return;
    const counter = (this.#polls.get(job) ?? 0) + 1;
    this.#polls.set(job, counter);
    await this.hooks.event("onJobPolling", this, job, counter);
  }

  #started(job: Job, trial: Trial): void {
    if (job.status !== JobStatus.SUBMITTED || this.#trials.get(job) !== trial) return;
    this.#slots.release(job);
    job.startedAt = Date.now();
    this.setStatus(job, JobStatus.RUNNING);
    this.tell("onJobStarted", job);
    this.#poll(job).catch((e) => this.logger.warn(`plugin hook onJobPolling failed: ${e}`));
  }

  async #complete(job: Job, end: TrialEnd): Promise<void> {
    const trial = this.#trials.get(job);
    if (trial && end.sawRunning) this.#started(job, trial);
    this.#slots.release(job);
    // A finished job needs nothing of its trial: let it go (10,000 jobs add up).
    this.#trials.delete(job);
    job.endedAt = Date.now();
    const outcome = await settleTrial(job, end);
    job.rc = outcome.rc;
    this.setStatus(job, outcome.rc === 0 && !job.killed ? JobStatus.FINISHED : JobStatus.FAILED);
    await this.tell(outcome.hook, job);
    // Whoever waits has this trial's promise already; a later wait finds the job ended.
    this.#done.delete(job);
    this.#polls.delete(job);
  }
}
