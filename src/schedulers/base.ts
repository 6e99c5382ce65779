// What every scheduler holds and writes: its options, its jobs, and each job's wrapper.

import { join } from "@std/path/posix";
import { writeJobFile } from "../core/job_files.ts";
import type { Measure } from "../core/cgroup_script.ts";
import { shortHash } from "../core/digest.ts";
import { Job, type JobCommand } from "../core/job.ts";
import { formatMemory, type Resources, trialResources } from "../core/resources.ts";
import { checkKnownKeys } from "../core/options.ts";
import { findTaggedGroups, signalSession } from "../core/process.ts";
import { plainWords, shellJoin, shellQuote, shellSplit } from "../core/shell.ts";
import type { JobErrorStrategyName } from "../core/status.ts";
import { renderPoolJob } from "../core/pool_job.ts";
import { renderWrapper, type WrapperParts } from "../core/wrapper.ts";
import { type JobHooks, NO_HOOKS } from "./hooks.ts";
import {
  resolveSchedulerOptions,
  SCHEDULER_OPTION_KEYS,
  type SchedulerOptions,
} from "./options.ts";

/**
 * What every scheduler holds and writes: its options, its jobs' names and metadirs, and
 * each job's wrapper (xqute's `jobcmd*` methods, which subclasses override). Extend
 * {@linkcode Scheduler}, which adds the jobs' life.
 */
export abstract class SchedulerBase {
  /** The scheduler's name (`"local"`, `"container"`, `"slurm"`). */
  abstract readonly name: string;
  /** The class of the jobs it creates. */
  jobClass: typeof Job = Job;
  /** How many jobs run at once. */
  readonly forks: number;
  /** The workdir on the host, absolute. */
  readonly workdir: string;
  /** The workdir as jobs see it. */
  readonly mountedWorkdir: string;
  /** The directory jobs start in, as jobs see it (empty: where they run by default). */
  readonly cwd: string;
  /** What to do when a job fails. */
  readonly errorStrategy: JobErrorStrategyName;
  /** How many times a failed job is run again with `"retry"`. */
  readonly numRetries: number;
  /** Bash run before every job's command. */
  readonly prescript: string;
  /** Bash run after every job's command. */
  readonly postscript: string;
  /** The first part of container and job names. */
  readonly jobnamePrefix: string;
  /** How many jobs may be starting at once. */
  readonly submissionBatch: number;
  /** Seconds between checks that running jobs still exist (0: none). */
  readonly recheckInterval: number;
  /** Seconds a job's command may run; 0 for no limit. */
  readonly timeout: number;
  /** Environment variables set in every job. */
  readonly envs: Readonly<Record<string, string>>;
  /** The CPUs, memory and GPUs every job asks for (a job's own win). */
  readonly resources: Readonly<Resources>;
  /** What a retry multiplies the memory of a job that ran out of it by. */
  readonly memoryRetryFactor: number;
  /** The image jobs run in; `null` when they run on the host. */
  readonly image: string | null = null;
  /** The engine binary; `null` when jobs run on the host. */
  readonly bin: string | null = null;
  /** This run's id: part of container names and labels. */
  runId: string = crypto.randomUUID().slice(0, 8);
  /** Who hears of job events; the wrapper takes the plugins' code from it. */
  hooks: JobHooks<SchedulerBase> = NO_HOOKS;

  /**
   * Check the base options, and that no option is unknown.
   *
   * @param options The options.
   * @param ownKeys The options a subclass takes besides the base ones.
   */
  constructor(options: SchedulerOptions = {}, ownKeys: readonly string[] = []) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    checkKnownKeys(options, new Set([...SCHEDULER_OPTION_KEYS, ...ownKeys]), new.target.name);
    const resolved = resolveSchedulerOptions(options);
    this.forks = resolved.forks;
    this.workdir = resolved.workdir;
    this.mountedWorkdir = resolved.mountedWorkdir;
    this.cwd = resolved.cwd;
    this.errorStrategy = resolved.errorStrategy;
    this.numRetries = resolved.numRetries;
    this.prescript = resolved.prescript;
    this.postscript = resolved.postscript;
    this.jobnamePrefix = resolved.jobnamePrefix;
    this.submissionBatch = resolved.submissionBatch;
    this.recheckInterval = resolved.recheckInterval;
    this.timeout = resolved.timeout;
    this.envs = resolved.envs;
    this.resources = resolved.resources;
    this.memoryRetryFactor = resolved.memoryRetryFactor;
  }

  /** The wrapper's file name suffix: `job.wrapped.<suffix>`. */
  get wrapperSuffix(): string {
    return this.name;
  }

  /** The wrapper's interpreter line (without `#!`). */
  get wrapperShebang(): string {
    return "/usr/bin/env bash";
  }

  /** Bash the wrapper runs first: `cd` to the cwd, when there is one. */
  get jobcmdWrapperInit(): string {
    return this.cwd ? `cd ${shellQuote(this.cwd)} || exit 1` : "";
  }

  /** Checks made once before the first job (the engine, the image); throws what stops the run. */
  async prepare(): Promise<void> {}

  /** Called once when the run has ended: free what the scheduler kept for it. */
  async release(): Promise<void> {}

  /**
   * Called once when no job waits to be submitted and none will be fed: what waits for
   * jobs (a pool's idle containers) may go while the last ones run. Retries may still come.
   */
  drained(): void {}

  /**
   * Make ready what a job needs before it is queued: its own image, its limits. Jobs of
   * this scheduler run on the host, which takes neither.
   *
   * @param job The job.
   * @throws {TypeError} For an image or resources it cannot give.
   */
  prepareJob(job: Job): Promise<void> {
    if (job.image) {
      return Promise.reject(
        new TypeError(`Job ${job.index}: an image needs the container, slurm or sge scheduler`),
      );
    }
    if (Object.keys(this.trialResources(job)).length) {
      return Promise.reject(
        new TypeError(
          `Job ${job.index}: cpus, memory and gpus need the container, slurm or sge scheduler`,
        ),
      );
    }
    return Promise.resolve();
  }

  /**
   * The ids of the live jobs of this workdir where it runs, which a resumed run may take
   * over: `null` for a scheduler whose jobs do not outlive their run (only a cluster's do).
   *
   * @returns The ids, or `null`.
   */
  liveJobIds(): Promise<Set<string> | null> {
    return Promise.resolve(null);
  }

  /**
   * Keep live jobs of an earlier run for a resumed run to take over: `reapOrphans` leaves
   * them, and those no job takes are cancelled when feeding ends.
   *
   * @param _jids Their ids.
   */
  keepForAdoption(_jids: ReadonlySet<string>): void {}

  /** Feeding has ended: jobs kept for adoption that no job took are cancelled. */
  feedingEnded(): void {}

  /**
   * Stop what an earlier run of this workdir left running (it was killed with -9): the
   * process groups marked with the workdir.
   *
   * @returns What was stopped, for a message; empty when nothing was.
   */
  async reapOrphans(): Promise<string[]> {
    const groups = await findTaggedGroups(this.workdir);
    // Their sessions: the groups a wrapper or a pool's agent made are in them too.
    for (const pid of groups) signalSession(pid, "SIGKILL");
    return groups.map((pid) => `process group ${pid}`);
  }

  /**
   * What decides a job's result besides its command and envs, for `--resume`.
   *
   * @param _job The job.
   * @returns Values that, when changed, make a finished job run again.
   */
  jobIdentity(_job: Job): Record<string, unknown> {
    return {
      prescript: this.prescript,
      postscript: this.postscript,
      cwd: this.cwd,
      timeout: this.timeout,
    };
  }

  /**
   * The argv that runs a job's wrapper, without the wrapper's path.
   *
   * @param job The job.
   * @returns The program and its arguments.
   */
  abstract engineCommand(job: Job): string[];

  /**
   * Create a job of this scheduler.
   *
   * @param index Its index.
   * @param cmd Its command.
   * @param envs Its environment variables.
   * @param own Its own image and resources, if it has them.
   * @returns The job (status INIT).
   */
  createJob(
    index: number,
    cmd: JobCommand,
    envs: Record<string, string> = {},
    own: { image?: string | null; resources?: Resources } = {},
  ): Job {
    return new this.jobClass(
      index,
      cmd,
      join(this.workdir, String(index)),
      `${this.mountedWorkdir.replace(/\/+$/, "")}/${index}`,
      envs,
      own,
    );
  }

  /**
   * The resources of a job's current trial: its own over the scheduler's, its memory
   * multiplied by its retry factor.
   *
   * @param job The job.
   * @returns The resources.
   */
  trialResources(job: Job): Resources {
    return trialResources(this.resources, job.resources, job.memoryFactor);
  }

  /**
   * The command line that runs a job's wrapper (xqute's shebang). Submissions go through
   * it: a subclass that overrides it changes what runs.
   *
   * @param job The job.
   * @returns One line of shell words.
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
    return this.hooks.jobcmd("onJobcmdInit", this, job);
  }

  /**
   * Bash run right before the command: the plugins' onJobcmdPrep.
   *
   * @param job The job.
   * @returns Bash code.
   */
  jobcmdPrep(job: Job): string {
    return this.hooks.jobcmd("onJobcmdPrep", this, job);
  }

  /**
   * Bash run after the command's rc is written: the plugins' onJobcmdEnd.
   *
   * @param job The job.
   * @returns Bash code.
   */
  jobcmdEnd(job: Job): string {
    return this.hooks.jobcmd("onJobcmdEnd", this, job);
  }

  /**
   * The text of a job's wrapper.
   *
   * @param job The job.
   * @returns Bash.
   */
  wrapJobScript(job: Job): string {
    const memory = this.trialResources(job).memory;
    const parts: WrapperParts = {
      shebang: this.wrapperShebang,
      index: job.index,
      trial: job.trial,
      mountedWorkdir: this.mountedWorkdir,
      mountedMetadir: job.mountedMetadir,
      // A line of plain words runs as its argv: the same result, without a shell to start.
      cmd: typeof job.cmd === "string" ? plainWords(job.cmd) ?? job.cmd : job.cmd,
      wrapperInit: this.jobcmdWrapperInit,
      init: this.jobcmdInit(job),
      prescript: this.prescript,
      prep: this.jobcmdPrep(job),
      postscript: this.postscript,
      end: this.jobcmdEnd(job),
      timeout: this.timeout,
      memoryLimit: memory === undefined ? undefined : formatMemory(memory),
      measure: this.measureFor(job),
    };
    return this.runsPooled(job) ? renderPoolJob(parts) : renderWrapper(parts);
  }

  /**
   * Whether a job's wrapper is sourced by a pool's agent rather than run.
   *
   * @param _job The job.
   * @returns `false` here.
   */
  runsPooled(_job: Job): boolean {
    return false;
  }

  /**
   * How a job's usage is measured by its wrapper: no cgroup of its own by default.
   *
   * @param _job The job.
   * @returns How.
   */
  measureFor(_job: Job): Measure {
    return { kind: "none" };
  }

  /** A short hash of the workdir, which names what the run leaves outside it (cgroups, jobs). */
  get workdirKey(): string {
    return shortHash(this.workdir);
  }

  /**
   * Write a job's wrapper into its metadir.
   *
   * @param job The job.
   * @returns The wrapper's path as the job sees it.
   */
  wrappedJobScript(job: Job): Promise<string> {
    // Small files on the job path are written synchronously: a thread-pool hop costs more.
    // The wrapper is made new, never written through a file that is there already: in a
    // metadir shared with another user (sticky, see ContainerScheduler), a file someone else
    // put under the wrapper's name can be neither removed nor written through, and fails
    // the submission instead of running.
    // (A fresh metadir has none: the usual case pays no failed remove.)
    const path = join(job.metadir, this.wrapperName);
    try {
      const text = this.wrapJobScript(job);
      writeJobFile(path, text);
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
   * The wrapper's path as the job sees it.
   *
   * @param job The job.
   * @returns The path.
   */
  wrapperPath(job: Job): string {
    return `${job.mountedMetadir}/${this.wrapperName}`;
  }

  /**
   * What submitting a job runs, as `--dry-run` shows it: the submission's command line.
   *
   * @param job The job (trial 1).
   * @returns Text.
   */
  describeSubmission(job: Job): string {
    return shellJoin(this.submissionArgv(job));
  }

  /**
   * The exact argv that starts a job (what `job.submission` holds): the words of
   * {@linkcode jobcmdShebang}, then the wrapper's path as the job sees it.
   *
   * @param job The job.
   * @returns The argv.
   */
  submissionArgv(job: Job): string[] {
    return [...shellSplit(this.jobcmdShebang(job)), this.wrapperPath(job)];
  }

  /**
   * Where a job's client runs, when not where xqc runs (an engine that leaves files there).
   *
   * @param _job The job.
   * @returns The folder, or `null`.
   */
  clientCwd(_job: Job): string | null {
    return null;
  }
}
