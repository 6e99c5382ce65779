// The container scheduler: each job's wrapper runs in a Docker, Podman or Apptainer container.

import { join } from "@std/path/posix";
import type { Measure } from "../../core/cgroup_script.ts";
import type { Job } from "../../core/job.ts";
import type { Engine, PullOptions } from "../../engines/engine.ts";
import type { Mount } from "../../engines/mounts.ts";
import { ContainerLauncher } from "./launcher.ts";
import {
  CONTAINER_OPTION_KEYS,
  type ContainerSchedulerOptions,
  resolveContainerOptions,
} from "./options.ts";
import { makeTrialCgroup, removeTrialCgroup, resetMemoryPeak } from "../../core/cgroups.ts";
import { WORKDIR_TAG } from "../../core/process.ts";
import { POOL_CHANNELS } from "../../core/agent.ts";
import { PooledJobs, type PoolSite } from "../pool/pooled_jobs.ts";
import { SpawningScheduler } from "../spawning.ts";

/**
 * Runs each job's wrapper in a container: `docker run` / `podman run` with a name and
 * `xqc.*` labels, or `apptainer exec` in its own process group. The workdir is mounted
 * so the wrapper writes the job's files on the host. With `pool: true`, jobs run instead
 * in long-lived containers, one a fork slot, each job a process group of its own there.
 *
 * @example
 * ```ts ignore
 * import { Xqute } from "@xq/container";
 * const xq = new Xqute({
 *   scheduler: "container",
 *   forks: 4,
 *   schedulerOpts: { image: "python:3.12", bin: "podman", volumes: ["/data:/data:ro"] },
 * });
 * await xq.feed(["python", "-c", "print(1)"]);
 * await xq.runUntilComplete();
 * ```
 */
export class ContainerScheduler extends SpawningScheduler {
  /** `"container"`. */
  readonly name: string = "container";
  /** The image, as the engine wants it. */
  override readonly image: string;
  /** The engine binary's path. */
  override readonly bin: string;
  #launcher: ContainerLauncher;

  #leftovers: Promise<string[]> | null = null;
  #pool: PooledJobs | null = null;

  /**
   * Make a container scheduler: checks the options, the volumes and that the engine
   * binary is on PATH (the image is checked by `prepare()`, before the first job).
   *
   * @param options The options; `image` is required.
   */
  constructor(options: ContainerSchedulerOptions) {
    const resolved = resolveContainerOptions(options);
    super(resolved.base, CONTAINER_OPTION_KEYS);
    this.#launcher = new ContainerLauncher(resolved, this);
    this.bin = this.engine.bin;
    this.image = this.#launcher.image;
    if (resolved.pool) this.#pool = new PooledJobs(this.#poolSite(), resolved.poolRecycle);
  }

  /** Whether jobs run in a pool of long-lived containers. */
  get pooled(): boolean {
    return this.#pool !== null;
  }

  /** The engine. */
  get engine(): Engine {
    return this.#launcher.engine;
  }

  /** The mounts, the workdir's last. */
  get volumes(): Mount[] {
    return this.#launcher.volumes;
  }

  /** When to pull images, and how. */
  get pullOptions(): PullOptions {
    return this.#launcher.pullOptions;
  }

  /** What runs the wrapper in the container. */
  get entrypoint(): string[] {
    return this.#launcher.entrypoint;
  }

  /** The container user (docker/podman); `null`: whoever runs xqc. */
  get user(): string | null {
    return this.#launcher.user;
  }

  /** Whether containers are removed when they end (docker/podman `--rm`). */
  get remove(): boolean {
    return this.#launcher.remove;
  }

  /** More engine arguments, put before the image. */
  get binArgs(): string[] {
    return this.#launcher.binArgs;
  }

  /** What identifies the image's content, once `prepare()` has checked it. */
  get imageId(): string | null {
    return this.#launcher.imageId;
  }

  /** `container-<engine>`, as in `job.wrapped.container-docker`. */
  override get wrapperSuffix(): string {
    return `${this.name}-${this.engine.name}`;
  }

  /** The entrypoint, quoted as a shell would need it, as the wrapper's interpreter line. */
  override get wrapperShebang(): string {
    return this.#launcher.shebang;
  }

  /**
   * Whether the engine gives a job's trial a cgroup of its own (docker and podman always,
   * apptainer when it applies limits).
   *
   * @param job The job.
   * @returns `true` when it does.
   */
  override ownsCgroup(job: Job): boolean {
    return this.engine.ownsCgroup(this.trialResources(job));
  }

  /**
   * A killed job's client has this long to end before its group gets SIGKILL (in a pool,
   * the job's process group).
   */
  override get killGraceMs(): number {
    return this.#pool ? 3000 : this.engine.killGraceMs;
  }

  /**
   * Whether a job's wrapper is sourced by a pool container's agent.
   *
   * @param _job The job.
   * @returns `true` in pool mode.
   */
  override runsPooled(_job: Job): boolean {
    return this.#pool !== null;
  }

  /**
   * How a job is measured: in a pool, from its container's cgroup (or the one the run made
   * for its trial); otherwise as a single container is.
   *
   * @param job The job.
   * @returns How.
   */
  override measureFor(job: Job): Measure {
    return this.#pool?.measureFor(job) ?? super.measureFor(job);
  }

  /**
   * The image is checked once before the first job: the engine answers and has it.
   *
   * @throws {EngineUnavailableError} When either is missing.
   */
  override async prepare(): Promise<void> {
    // Listing a crashed run's containers only reads: it goes along with the image check.
    this.#leftovers = this.engine.leftovers(this.workdir);
    this.#leftovers.catch(() => {});
    const { ref } = await this.#launcher.ready();
    await this.engine.checkResources(this.resources, ref, this.pullOptions);
  }

  /**
   * A job's own image is made ready (pulled once for all the jobs that name it) and its
   * limits checked, before it is queued.
   *
   * @param job The job.
   */
  override async prepareJob(job: Job): Promise<void> {
    await this.#launcher.prepareJob(job, this.trialResources(job));
  }

  /**
   * Stop what an earlier run of this workdir left running: its clients' process groups,
   * then the containers the engine still runs for it.
   *
   * @returns What was stopped.
   */
  override async reapOrphans(): Promise<string[]> {
    // The clients first, so that none starts another container.
    const groups = await super.reapOrphans();
    const names = await (this.#leftovers ?? this.engine.leftovers(this.workdir));
    this.#leftovers = null;
    await this.engine.removeContainers(names);
    return [...names.map((name) => `container ${name}`), ...groups];
  }

  /**
   * The image's content, the entrypoint, the mounts, the user and the engine arguments
   * decide a job's result too.
   *
   * @param job The job.
   * @returns The values for the resume hash.
   */
  override jobIdentity(job: Job): Record<string, unknown> {
    return { ...super.jobIdentity(job), ...this.#launcher.identity(job) };
  }

  /**
   * What starting a job runs, as `--dry-run` shows it: its engine command, or in a pool the
   * pool container's and the agent's request.
   *
   * @param job The job.
   * @returns Text.
   */
  override describeSubmission(job: Job): string {
    return this.#pool?.describe(job) ?? super.describeSubmission(job);
  }

  /**
   * The container's name: `<prefix>-<runid>-<index>-<trial>`.
   *
   * @param job The job.
   * @returns The name.
   */
  containerName(job: Job): string {
    return `${this.jobnamePrefix}-${this.runId}-${job.index}-${job.trial}`;
  }

  /**
   * The engine argv that runs a job's wrapper, without the wrapper's path.
   *
   * @param job The job.
   * @returns The argv.
   */
  engineCommand(job: Job): string[] {
    return this.#launcher.argv(
      job,
      this.containerName(job),
      this.runId,
      Object.keys(this.#launcher.jobEnvs(super.processEnv(job))),
      this.trialResources(job),
    );
  }

  /**
   * The engine client's environment: the jobs' variables, as the engine takes them.
   *
   * @param job The job.
   * @returns Names and values.
   */
  override processEnv(job: Job): Record<string, string> {
    return this.engine.clientEnv(this.#launcher.jobEnvs(super.processEnv(job)));
  }

  /** Where the engine wants its client to run (podman: the metadir), if not here. */
  override clientCwd(job: Job): string | null {
    return this.engine.clientCwd(job.metadir);
  }

  /**
   * The named mounts' variables, then the plugins' onJobcmdInit.
   *
   * @param job The job.
   * @returns Bash code.
   */
  override jobcmdInit(job: Job): string {
    return [this.#launcher.exports, super.jobcmdInit(job)].filter(Boolean).join("\n");
  }

  /**
   * Make the metadir writable for the container's user when that is not the workdir's
   * owner, then start the job.
   *
   * @param job The job.
   * @returns The container name (docker/podman) or the pid (apptainer).
   */
  override async submitJob(job: Job): Promise<string> {
    await this.#launcher.shareMetadir(job);
    return await (this.#pool?.submit(job) ?? super.submitJob(job));
  }

  /** No job waits to start: the pool's containers close as they fall idle. */
  override drained(): void {
    this.#pool?.drain();
  }

  /** The run has ended: the pool's containers go, then what every run frees. */
  override async release(): Promise<void> {
    await this.#pool?.close();
    // The agents' FIFOs went with their containers; a crashed run's are left here.
    if (this.#pool) {
      await Deno.remove(join(this.workdir, POOL_CHANNELS), { recursive: true }).catch(() => {});
    }
    await super.release();
  }

  /**
   * The job's id, as the engine knows it: a container name, or the client's pid.
   *
   * @param job The job.
   * @param pid The client's pid.
   * @returns The id.
   */
  override jobId(job: Job, pid: number): string {
    return this.engine.jobId(this.containerName(job), pid);
  }

  /**
   * Kill a job through the engine.
   *
   * @param job The job.
   */
  async terminate(job: Job): Promise<void> {
    if (await this.#pool?.terminate(job)) return;
    return await this.engine.kill(job.jid, this.#launcher.remove);
  }

  /**
   * Whether the engine runs a job.
   *
   * @param jid The job's id.
   * @returns `true` while it runs.
   */
  protected jidIsRunning(jid: string): Promise<boolean> {
    return this.engine.isRunning(containerOf(jid), this.workdir);
  }

  /**
   * The running jobs the engine still runs: one engine call for all, where it can list them.
   *
   * @param jobs Running jobs.
   * @returns Their ids that run.
   */
  protected override async liveJids(jobs: readonly Job[]): Promise<Set<string>> {
    const names = await this.engine.liveJobs(this.runId);
    if (!names) return await super.liveJids(jobs);
    return new Set(jobs.map((job) => job.jid).filter((jid) => names.has(containerOf(jid))));
  }

  #poolSite(): PoolSite {
    const launcher = this.#launcher;
    const engine = launcher.engine;
    // An engine that relays stdio through a daemon is a hop or three slower than FIFOs in
    // the mounted workdir; they are the run user's own, so only a container of that user
    // (the default) talks through them.
    const fifos = () => engine.daemonContainers && launcher.user === null;
    return {
      forks: () => this.forks,
      cancelled: () => this.cancelled,
      trialResources: (job) => this.trialResources(job),
      imageOf: (job) => engine.imageRef(job.image ?? this.image),
      jobEnvs: (job) => launcher.jobEnvs(super.processEnv(job)),
      poolName: (n) => `${this.jobnamePrefix}-${this.runId}-pool-${n}`,
      poolKind: "container",
      agentArgv: (image, resources, name, cgroup) =>
        launcher.agentArgv(
          image ?? this.image,
          resources,
          name,
          this.runId,
          this.wrapperName,
          fifos()
            ? `${this.mountedWorkdir.replace(/\/+$/, "")}/${POOL_CHANNELS}/${name}`
            : undefined,
          cgroup,
        ),
      channel: (name) => fifos() ? join(this.workdir, POOL_CHANNELS, name) : null,
      agentEnv: () => ({ ...engine.clientEnv({}), [WORKDIR_TAG]: this.workdir }),
      agentCwd: () => engine.clientCwd(this.workdir),
      nameOf: (name, pid) => engine.jobId(name, pid),
      remove: (container) => engine.removeContainers([container.name]),
      // A container that has no cgroup of its own (apptainer) gets one the run makes, which
      // its agent joins: no cgroup to make and join for each job.
      containerCgroup: (name, resources) =>
        engine.ownsCgroup(resources) ? null : makeTrialCgroup(this.workdirKey, name),
      freeCgroup: (dirs) => {
        removeTrialCgroup([...dirs]).catch(() => {});
      },
      // The container's cgroup counts the job (its peak reset first); without one, the trial
      // joins one the run makes, as a single job's would.
      measure: (job, container, resources) => {
        if (engine.ownsCgroup(resources) || container.cgroup.length) {
          const peak = container.memoryCgroup !== null && resetMemoryPeak(container.memoryCgroup);
          return { kind: "pooled", peak };
        }
        return this.openTrialCgroup(job) ? undefined : { kind: "none" };
      },
      measured: (job) => this.closeTrialCgroup(job),
      wrappedJobScript: (job) => this.wrappedJobScript(job),
      track: (job, trial) => this.track(job, trial),
      trialOf: (job) => this.trialOf(job),
    };
  }
}

/**
 * The container part of a job's id: a pooled job's is `CONTAINER/INDEX.TRIAL`.
 *
 * @param jid The job's id.
 * @returns The container's name (or its client's pid).
 */
function containerOf(jid: string): string {
  const slash = jid.indexOf("/");
  return slash < 0 ? jid : jid.slice(0, slash);
}
