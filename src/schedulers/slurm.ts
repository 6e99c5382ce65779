// The Slurm scheduler: each job is a batch script submitted with sbatch (alone, or as a task
// of an array), watched with one squeue per interval for all jobs, killed with scancel, and
// run on its node with bash or in a container that Slurm's stop also stops.

import { join } from "@std/path/posix";
import { EngineUnavailableError } from "../core/errors.ts";
import { writeJobFile } from "../core/job_files.ts";
import type { Measure } from "../core/cgroup_script.ts";
import type { Job } from "../core/job.ts";
import { findOnPath } from "../core/which.ts";
import type { Engine } from "../engines/engine.ts";
import { ContainerLauncher } from "./container_launcher.ts";
import { CONTAINER_OPTION_KEYS, resolveContainerOptions } from "./container_options.ts";
import { Scheduler } from "./scheduler.ts";
import {
  resolveSlurmOptions,
  type SbatchValue,
  SLURM_OPTION_KEYS,
  type SlurmSchedulerOptions,
  splitPrefixedOptions,
} from "./slurm_options.ts";
import { isLiveState, SlurmQueue } from "./slurm_queue.ts";
import { SlurmBatches } from "./slurm_batches.ts";
import { SlurmLeftovers } from "./slurm_leftovers.ts";
import { batchScript, writeSubmissionFiles } from "./slurm_job.ts";
import { PooledJobs } from "./pooled_jobs.ts";
import { slurmPoolSite } from "./slurm_pool.ts";
import { SubmissionCancelled, type Trial } from "./trial.ts";
import { slurmTrial } from "./slurm_trial.ts";

/** The container options, which need an image. */
const NEEDS_IMAGE = CONTAINER_OPTION_KEYS.filter((key) =>
  !["image", "pool", "poolRecycle"].includes(key)
);

/**
 * Runs each job on a Slurm cluster: its batch script (`job.sbatch` in its metadir) runs the
 * wrapper with bash, or through a container engine when an image is given. The workdir must
 * be on a filesystem the nodes share.
 *
 * @example
 * ```ts ignore
 * import { Xqute } from "@xq/container";
 * const xq = new Xqute({
 *   scheduler: "slurm",
 *   forks: 100,
 *   workdir: "/shared/project/.xqute",
 *   schedulerOpts: { slurmOpts: { partition: "debug", mem: "1G" }, image: "tool.sif", bin: "apptainer" },
 * });
 * ```
 */
export class SlurmScheduler extends Scheduler {
  /** `"slurm"`. */
  readonly name: string = "slurm";
  /** The image jobs run in on their nodes, if any. */
  override readonly image: string | null = null;
  /** The engine binary, when jobs run in containers. */
  override readonly bin: string | null = null;
  /** The sbatch options every job gets. */
  readonly slurmOpts: Readonly<Record<string, SbatchValue>>;
  /** The sbatch program. */
  readonly sbatch: string;
  /** The squeue program. */
  readonly squeue: string;
  /** Seconds to wait for a job's rc file after Slurm says it ended (a lagging filesystem). */
  readonly exitReadTimeout: number;
  /** Array mode: `true`, `false` or `"auto"`. */
  readonly array: boolean | "auto";
  /** The queue, watched with one squeue per interval. */
  readonly queue: SlurmQueue;

  #launcher: ContainerLauncher | null = null;
  #pool: PooledJobs | null = null;
  #batches: SlurmBatches = new SlurmBatches(this);
  #left: SlurmLeftovers = new SlurmLeftovers(this);

  /**
   * Make a Slurm scheduler (the cluster is asked in `prepare()`, before the first job).
   *
   * @param options The options.
   */
  constructor(options: SlurmSchedulerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    const { rest, sbatch } = splitPrefixedOptions(options as Record<string, unknown>);
    const given = rest as SlurmSchedulerOptions;
    let base: Record<string, unknown> = given as Record<string, unknown>;
    const container = given.image !== undefined
      ? resolveContainerOptions({ ...given, image: given.image })
      : null;
    if (container) base = container.base as Record<string, unknown>;
    else {
      const key = NEEDS_IMAGE.find((name) => name in given);
      if (key) throw new TypeError(`Option "${key}" needs an image`);
    }
    super(base, [...CONTAINER_OPTION_KEYS, ...SLURM_OPTION_KEYS]);
    const slurm = resolveSlurmOptions({
      ...given,
      slurmOpts: { ...sbatch, ...(given.slurmOpts ?? {}) },
    });
    this.slurmOpts = slurm.slurmOpts;
    this.sbatch = slurm.sbatch;
    this.array = slurm.array;
    this.squeue = slurm.squeue;
    this.exitReadTimeout = slurm.exitReadTimeout;
    this.queue = new SlurmQueue({
      squeue: slurm.squeue,
      scancel: slurm.scancel,
      intervalMs: slurm.pollInterval * 1000,
      namePrefix: this.jobNameStem,
      logger: { info: (m) => this.logger.info(m), warn: (m) => this.logger.warn(m) },
    });
    if (container) {
      this.#launcher = new ContainerLauncher(container, this);
      this.image = this.#launcher.image;
      this.bin = this.#launcher.engine.bin;
    }
    if (slurm.pool) {
      this.#pool = new PooledJobs(
        slurmPoolSite(this, { track: (j, t) => this.track(j, t), trialOf: (j) => this.trialOf(j) }),
        slurm.poolRecycle,
      );
    }
  }

  /** The launcher, when jobs run in containers. */
  get launcher(): ContainerLauncher | null {
    return this.#launcher;
  }

  /**
   * Whether a job's wrapper is sourced by the agent of a pool slot.
   *
   * @param _job The job.
   * @returns `true` in pool mode.
   */
  override runsPooled(_job: Job): boolean {
    return this.#pool !== null;
  }

  /**
   * How a job is measured: in a pool, from its slot's cgroup.
   *
   * @param job The job.
   * @returns How.
   */
  override measureFor(job: Job): Measure {
    return this.#pool?.measureFor(job) ?? super.measureFor(job);
  }

  /** No job waits to start: the pool's allocations end as they fall idle. */
  override drained(): void {
    this.#pool?.drain();
  }

  /** The run has ended: cancels it sent are done, and the pool's allocations end. */
  override async release(): Promise<void> {
    await this.#left.settled();
    await this.#pool?.close();
  }

  /** The engine jobs run in, when an image is given. */
  get engine(): Engine | null {
    return this.#launcher?.engine ?? null;
  }

  /** `slurm`, or `slurm-<engine>` with an image. */
  override get wrapperSuffix(): string {
    return this.engine ? `${this.name}-${this.engine.name}` : this.name;
  }

  /** The entrypoint with an image; bash otherwise. */
  override get wrapperShebang(): string {
    return this.#launcher?.shebang ?? super.wrapperShebang;
  }

  /** The first part of every job name of this workdir: `<prefix>-<8 hex of the workdir>-`. */
  get jobNameStem(): string {
    return `${this.jobnamePrefix}-${this.workdirKey}-`;
  }

  /** A job is starting until sbatch has taken it (in a pool, until it runs). */
  protected override get slotUntilRunning(): boolean {
    return this.#pool !== null;
  }

  /** Arrays take all the jobs submitted at once; single sbatch calls are bounded below. */
  protected override get startingLimit(): number {
    return this.array === false ? this.submissionBatch : Infinity;
  }

  /**
   * The cluster answers, its programs are on PATH, and the image (if any) is there.
   *
   * @throws {EngineUnavailableError} When not.
   */
  override async prepare(): Promise<void> {
    if (!findOnPath(this.sbatch)) {
      throw new EngineUnavailableError(`Slurm's "${this.sbatch}" is not on PATH`);
    }
    await this.queue.ping();
    this.#left.listContainers();
    await this.#launcher?.ready();
  }

  /**
   * A job's own image is made ready (pulled once for all that name it); its resources must
   * be ones Slurm takes.
   *
   * @param job The job.
   */
  override async prepareJob(job: Job): Promise<void> {
    const resources = this.trialResources(job);
    if (resources.gpus === "all") {
      throw new TypeError(`Job ${job.index}: Slurm needs a number of GPUs, not "all"`);
    }
    if (job.image && !this.#launcher) {
      throw new TypeError(`Job ${job.index}: an image per job needs an image for the run`);
    }
    await this.#launcher?.ready(job.image ?? undefined);
  }

  /** The live Slurm jobs of this workdir, which a resumed run may adopt (none in a pool). */
  override async liveJobIds(): Promise<Set<string> | null> {
    return this.#pool ? null : await this.#left.live();
  }

  /** Keep live Slurm jobs (`jids`) of an earlier run for adoption. */
  override keepForAdoption(jids: ReadonlySet<string>): void {
    this.#left.keep(jids);
  }

  /** Take over Slurm job `jid` that an earlier run left running. */
  override adopt(job: Job, jid: string, trial: number): void {
    this.#left.claim(jid);
    super.adopt(job, jid, trial);
  }

  /** Kept jobs no job took are cancelled; after a stop, the adopted ones not watched yet. */
  override feedingEnded(): void {
    this.#left.feedingEnded(this.cancelled);
  }

  /** Kill the running jobs, and the adopted ones not watched yet. */
  override async killRunningJobs(jobs: readonly Job[], reason?: string): Promise<void> {
    await this.#left.cancelWaiting();
    await super.killRunningJobs(jobs, reason);
  }

  /**
   * Cancel what earlier runs of this workdir left in Slurm but what is kept for adoption,
   * and their containers.
   *
   * @returns What was stopped.
   */
  override async reapOrphans(): Promise<string[]> {
    return await this.#left.reap();
  }

  /**
   * The container's side and the sbatch options decide a job's result too.
   *
   * @param job The job.
   * @returns The values for the resume hash.
   */
  override jobIdentity(job: Job): Record<string, unknown> {
    return {
      ...super.jobIdentity(job),
      ...(this.#launcher?.identity(job) ?? {}),
      slurmOpts: this.slurmOpts,
    };
  }

  /**
   * The Slurm job name: `<prefix>-<8 hex of the workdir>-<index>`.
   *
   * @param job The job.
   * @returns The name.
   */
  jobName(job: Job): string {
    return `${this.jobNameStem}${job.index}`;
  }

  /**
   * The container's name, when jobs run in containers.
   *
   * @param job The job.
   * @returns `<prefix>-<runid>-<index>-<trial>`.
   */
  containerName(job: Job): string {
    return `${this.jobnamePrefix}-${this.runId}-${job.index}-${job.trial}`;
  }

  /**
   * What runs the wrapper on the node: the engine command, or bash.
   *
   * @param job The job.
   * @returns The argv, without the wrapper's path.
   */
  engineCommand(job: Job): string[] {
    if (!this.#launcher) return ["bash"];
    // A container that is not a process of its Slurm job (docker, podman) escapes Slurm's
    // limits: its engine applies them. Apptainer's belong to the job.
    const contained = !this.#launcher.engine.daemonContainers;
    return this.#launcher.argv(
      job,
      this.containerName(job),
      this.runId,
      Object.keys(this.#launcher.jobEnvs({ ...this.envs, ...job.envs })),
      contained ? {} : this.trialResources(job),
    );
  }

  /**
   * The named mounts' variables, then the plugins' onJobcmdInit.
   *
   * @param job The job.
   * @returns Bash code.
   */
  override jobcmdInit(job: Job): string {
    return [this.#launcher?.exports ?? "", super.jobcmdInit(job)].filter(Boolean).join("\n");
  }

  /**
   * The batch script, as `--dry-run` shows it.
   *
   * @param job The job.
   * @returns The script and the sbatch command.
   */
  override describeSubmission(job: Job): string {
    if (this.#pool) return this.#pool.describe(job);
    return `${batchScript(this, job)}# submitted with: ${this.sbatch} --parsable ${
      join(job.metadir, "job.sbatch")
    }`;
  }

  /**
   * Write the job's wrapper and batch script, and submit it: alone, or with the jobs
   * submitted at the same moment as one array.
   *
   * @param job The job.
   * @returns Its Slurm job id (`<array>_<task>` for an array task).
   */
  async submitJob(job: Job): Promise<string> {
    await this.#launcher?.shareMetadir(job);
    if (this.#pool) return await this.#pool.submit(job);
    const adopted = this.adopted(job);
    if (adopted) {
      this.#left.watched(adopted.jid);
      this.track(job, this.#trial(job, adopted.jid));
      return adopted.jid;
    }
    await this.wrappedJobScript(job);
    writeSubmissionFiles(this, job);
    if (this.cancelled) throw new SubmissionCancelled();
    const jid = await this.#batches.submit(job);
    writeJobFile(job.jidFile, jid + "\n");
    this.track(job, this.#trial(job, jid));
    return jid;
  }

  #trial(job: Job, jid: string): Trial {
    return slurmTrial(job, jid, {
      queue: this.queue,
      exitReadMs: this.exitReadTimeout * 1000,
      requeued: () => this.requeued(job),
      runsAgain: () => this.runsAgain(job),
    });
  }

  /**
   * Cancel a job (with the others cancelled at once, in one scancel); its trial ends when
   * the queue says so.
   *
   * @param job The job.
   */
  async killJob(job: Job): Promise<void> {
    if (await this.#pool?.kill(job, 3000, (ms) => this.waitGone(job, ms))) return;
    await this.queue.cancel([job.jid]);
  }

  /**
   * Whether Slurm still holds a job.
   *
   * @param jid Its id.
   * @returns `true` while pending or running.
   */
  protected async jidIsRunning(jid: string): Promise<boolean> {
    const pooled = this.#pool?.runs(jid);
    if (pooled !== undefined && pooled !== null) return pooled;
    const state = (await this.queue.states([jid]))?.get(jid);
    return state !== undefined && isLiveState(state);
  }

  /**
   * The running jobs still held: in a pool, those its slots run; otherwise all, since the
   * queue's own poll ends every trial (and waits for a late rc), so the recheck asks nothing.
   *
   * @param jobs Running jobs.
   * @returns Their ids.
   */
  protected override liveJids(jobs: readonly Job[]): Promise<Set<string>> {
    const jids = jobs.map((job) => job.jid);
    return Promise.resolve(
      new Set(this.#pool ? jids.filter((jid) => this.#pool!.runs(jid)) : jids),
    );
  }
}
