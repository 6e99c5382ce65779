// The batch scheduler, which Slurm's and Grid Engine's are: each job is a script submitted
// to the batch system (alone, or as a task of an array), watched with one listing of the
// queue per interval for all jobs, cancelled in batches, and run on its node with bash or
// in a container that the system's stop also stops. What differs is the system
// (./system.ts), given by each scheduler's folder.

import { join } from "@std/path/posix";
import { writeJobFile } from "../../core/job_files.ts";
import type { Measure } from "../../core/cgroup_script.ts";
import type { Job } from "../../core/job.ts";
import type { Engine } from "../../engines/engine.ts";
import { ContainerLauncher } from "../container/launcher.ts";
import { CONTAINER_OPTION_KEYS, resolveContainerOptions } from "../container/options.ts";
import { Scheduler } from "../scheduler.ts";
import { PooledJobs, type PoolSite } from "../pool/pooled_jobs.ts";
import { SubmissionCancelled, type Trial } from "../trial.ts";
import { BatchQueue } from "./queue.ts";
import { Batches } from "./batches.ts";
import { Leftovers } from "./leftovers.ts";
import { batchScript, writeSubmissionFiles } from "./job_script.ts";
import {
  BATCH_OPTION_KEYS,
  type BatchSchedulerOptions,
  resolveBatchOptions,
  type ResolvedBatchOptions,
} from "./options.ts";
import type { BatchSystem } from "./system.ts";
import { batchTrial } from "./trial.ts";

/** The container options, which need an image. */
const NEEDS_IMAGE = CONTAINER_OPTION_KEYS.filter((key) =>
  !["image", "pool", "poolRecycle"].includes(key)
);

/**
 * Runs each job on a batch system: its script (in its metadir) runs the wrapper with bash,
 * or through a container engine when an image is given. The workdir must be on a
 * filesystem the nodes share. `SlurmScheduler` and `SgeScheduler` are the ones to use.
 */
export abstract class BatchScheduler extends Scheduler {
  /** The batch system. */
  readonly system: BatchSystem;
  /** The image jobs run in on their nodes, if any. */
  override readonly image: string | null = null;
  /** The engine binary, when jobs run in containers. */
  override readonly bin: string | null = null;
  /** Seconds to wait for a job's rc file after the system says it ended (a lagging filesystem). */
  readonly exitReadTimeout: number;
  /** Array mode: `true`, `false` or `"auto"`. */
  readonly array: boolean | "auto";
  /** The queue, watched with one listing per interval. */
  readonly queue: BatchQueue;
  /** The batch options, checked (a pool among them). */
  protected readonly batchOptions: ResolvedBatchOptions;

  #launcher: ContainerLauncher | null = null;
  #pool: PooledJobs | null = null;
  #batches: Batches = new Batches(this);
  #left: Leftovers = new Leftovers(this);
  #refusals = new Map<string, Promise<string | null>>();

  /**
   * Make a batch scheduler (the system is asked in `prepare()`, before the first job).
   *
   * @param given The options (the system's own keys taken out or listed in `ownKeys`).
   * @param ownKeys The system's own option keys.
   * @param system The batch system.
   */
  protected constructor(
    given: BatchSchedulerOptions,
    ownKeys: readonly string[],
    system: BatchSystem,
  ) {
    let base: Record<string, unknown> = given as Record<string, unknown>;
    const container = given.image !== undefined
      ? resolveContainerOptions({ ...given, image: given.image })
      : null;
    if (container) base = container.base as Record<string, unknown>;
    else {
      const key = NEEDS_IMAGE.find((name) => name in given);
      if (key) throw new TypeError(`Option "${key}" needs an image`);
    }
    super(base, [...CONTAINER_OPTION_KEYS, ...BATCH_OPTION_KEYS, ...ownKeys]);
    this.system = system;
    this.batchOptions = resolveBatchOptions(given);
    this.array = this.batchOptions.array;
    this.exitReadTimeout = this.batchOptions.exitReadTimeout;
    this.queue = new BatchQueue({
      system,
      intervalMs: this.batchOptions.pollInterval * 1000,
      namePrefix: this.jobNameStem,
      logger: { info: (m) => this.logger.info(m), warn: (m) => this.logger.warn(m) },
    });
    if (container) {
      this.#launcher = new ContainerLauncher(container, this);
      this.image = this.#launcher.image;
      this.bin = this.#launcher.engine.bin;
    }
  }

  /**
   * Run jobs in a pool of slots where the system holds them (Slurm's allocations).
   *
   * @param site The system's pool site.
   */
  protected usePool(site: PoolSite): void {
    this.#pool = new PooledJobs(site, this.batchOptions.poolRecycle);
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

  /** `<name>`, or `<name>-<engine>` with an image. */
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

  /** A job is starting until the system has taken it (in a pool, until it runs). */
  protected override get slotUntilRunning(): boolean {
    return this.#pool !== null;
  }

  /** Arrays take all the jobs submitted at once; single submit calls are bounded below. */
  protected override get startingLimit(): number {
    return this.array === false ? this.submissionBatch : Infinity;
  }

  /**
   * The system answers, its programs are on PATH, and the image (if any) is there.
   *
   * @throws {EngineUnavailableError} When not.
   */
  override async prepare(): Promise<void> {
    await this.queue.ping();
    this.#left.listContainers();
    await this.#launcher?.ready();
  }

  /**
   * A job's own image is made ready (pulled once for all that name it); its resources must
   * be ones the system takes.
   *
   * @param job The job.
   */
  override async prepareJob(job: Job): Promise<void> {
    const resources = this.trialResources(job);
    if (resources.gpus === "all") {
      throw new TypeError(
        `Job ${job.index}: ${this.system.label} needs a number of GPUs, not "all"`,
      );
    }
    let key: string;
    try {
      key = this.system.resourceKey(resources);
    } catch (e) {
      throw new TypeError(`Job ${job.index}: ${(e as Error).message}`);
    }
    // Asked once for each kind of limits, before anything is submitted.
    if (!this.#refusals.has(key)) this.#refusals.set(key, this.system.refusal(resources));
    const refusal = await this.#refusals.get(key);
    if (refusal) {
      throw new TypeError(`Job ${job.index}: ${this.system.label} refuses it: ${refusal}`);
    }
    if (job.image && !this.#launcher) {
      throw new TypeError(`Job ${job.index}: an image per job needs an image for the run`);
    }
    await this.#launcher?.ready(job.image ?? undefined);
  }

  /** The live jobs of this workdir, which a resumed run may adopt (none in a pool). */
  override async liveJobIds(): Promise<Set<string> | null> {
    return this.#pool ? null : await this.#left.live();
  }

  /** Keep live jobs (`jids`) of an earlier run for adoption. */
  override keepForAdoption(jids: ReadonlySet<string>): void {
    this.#left.keep(jids);
  }

  /** Take over job `jid` that an earlier run left running. */
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
   * Cancel what earlier runs of this workdir left in the system but what is kept for adoption,
   * and their containers.
   *
   * @returns What was stopped.
   */
  override async reapOrphans(): Promise<string[]> {
    return await this.#left.reap();
  }

  /**
   * The container's side and the system's options decide a job's result too.
   *
   * @param job The job.
   * @returns The values for the resume hash.
   */
  override jobIdentity(job: Job): Record<string, unknown> {
    return {
      ...super.jobIdentity(job),
      ...(this.#launcher?.identity(job) ?? {}),
      [`${this.system.key}Opts`]: this.system.options,
    };
  }

  /**
   * The job's name in the system: `<prefix>-<8 hex of the workdir>-<index>`.
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
    // A container that is not a process of its batch job (docker, podman) escapes the
    // system's limits: its engine applies them. Apptainer's belong to the job.
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
   * The job script, as `--dry-run` shows it.
   *
   * @param job The job.
   * @returns The script and the submit command.
   */
  override describeSubmission(job: Job): string {
    if (this.#pool) return this.#pool.describe(job);
    const path = join(job.metadir, this.system.scriptName);
    return `${batchScript(this, job)}# submitted with: ${this.system.submitArgv(path).join(" ")}`;
  }

  /**
   * Write the job's wrapper and script, and submit it: alone, or with the jobs submitted
   * at the same moment as one array.
   *
   * @param job The job.
   * @returns Its job id (an array task's for an array task).
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
    return batchTrial(job, jid, {
      system: this.system,
      queue: this.queue,
      exitReadMs: this.exitReadTimeout * 1000,
      requeued: () => this.requeued(job),
      runsAgain: () => this.runsAgain(job),
    });
  }

  /**
   * Cancel a job (with the others cancelled at once, in one call); its trial ends when
   * the queue says so.
   *
   * @param job The job.
   */
  async killJob(job: Job): Promise<void> {
    if (await this.#pool?.kill(job, 3000, (ms) => this.waitGone(job, ms))) return;
    await this.queue.cancel([job.jid]);
  }

  /**
   * Whether the system still holds a job.
   *
   * @param jid Its id.
   * @returns `true` while pending or running.
   */
  protected async jidIsRunning(jid: string): Promise<boolean> {
    const pooled = this.#pool?.runs(jid);
    if (pooled !== undefined && pooled !== null) return pooled;
    const state = (await this.queue.states([jid]))?.get(jid);
    return state !== undefined && this.system.isLive(state);
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
