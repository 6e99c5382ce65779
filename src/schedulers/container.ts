// The container scheduler: each job's wrapper runs in a Docker, Podman or Apptainer container.

import type { Job } from "../core/job.ts";
import { shellJoin, shellQuote } from "../core/shell.ts";
import type { Engine } from "../engines/engine.ts";
import { hostPathOf, type Mount } from "../engines/mounts.ts";
import { engineFor } from "../engines/select.ts";
import {
  CONTAINER_OPTION_KEYS,
  type ContainerSchedulerOptions,
  resolveContainerOptions,
} from "./container_options.ts";
import { SpawningScheduler } from "./spawning.ts";

/**
 * Runs each job's wrapper in a container: `docker run` / `podman run` with a name and
 * `xqc.*` labels, or `apptainer exec` in its own process group. The workdir is mounted
 * so the wrapper writes the job's files on the host.
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
  /** What runs the wrapper in the container. */
  readonly entrypoint: string[];
  /** The engine binary's path. */
  override readonly bin: string;
  /** The engine. */
  readonly engine: Engine;
  /** The mounts, the workdir's last. */
  readonly volumes: Mount[];
  /** Variables of the named mounts: name → in-container path. */
  readonly pathEnvs: Record<string, string>;
  /** `--rm`. */
  readonly remove: boolean;
  /** `--user` (docker/podman). */
  readonly user: string;
  /** More engine arguments. */
  readonly binArgs: string[];
  /** What identifies the image's content, once `prepare()` has checked it. */
  imageId: string | null = null;

  #leftovers: Promise<string[]> | null = null;
  #shared: boolean | null = null;

  /**
   * Make a container scheduler: checks the options, the volumes and that the engine
   * binary is on PATH (the image is checked by `prepare()`, before the first job).
   *
   * @param options The options; `image` is required.
   */
  constructor(options: ContainerSchedulerOptions) {
    const resolved = resolveContainerOptions(options);
    super(resolved.base, CONTAINER_OPTION_KEYS);
    this.engine = engineFor(resolved.bin);
    this.bin = this.engine.bin;
    this.image = this.engine.imageRef(resolved.image);
    this.entrypoint = resolved.entrypoint;
    this.remove = resolved.remove;
    this.user = resolved.user;
    this.binArgs = resolved.binArgs;
    this.pathEnvs = resolved.pathEnvs;
    this.volumes = [...resolved.mounts];
    // A volume may cover the workdir already (volumeAsCwd with the default workdir).
    if (hostPathOf(this.volumes, this.mountedWorkdir) !== this.workdir) {
      this.volumes.push({ host: this.workdir, container: this.mountedWorkdir, options: "" });
    }
    const clash = this.volumes.find((m) =>
      m.container === this.mountedWorkdir && m.host !== this.workdir
    );
    if (clash) {
      throw new TypeError(
        `Mount point "${this.mountedWorkdir}" is given two host paths: "${clash.host}" and the workdir "${this.workdir}"`,
      );
    }
  }

  /** `container-<engine>`, as in `job.wrapped.container-docker`. */
  override get wrapperSuffix(): string {
    return `${this.name}-${this.engine.name}`;
  }

  /** The entrypoint, quoted as a shell would need it, as the wrapper's interpreter line. */
  override get wrapperShebang(): string {
    return shellJoin(this.entrypoint);
  }

  /** A killed job's client has this long to end before its group gets SIGKILL. */
  override get killGraceMs(): number {
    return this.engine.killGraceMs;
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
    this.imageId = await this.engine.checkImage(this.image);
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
    return {
      ...super.jobIdentity(job),
      image: this.imageId ?? this.image,
      entrypoint: this.entrypoint,
      volumes: this.volumes,
      user: this.user,
      binArgs: this.binArgs,
    };
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
    return this.engine.runArgv({
      image: this.image,
      entrypoint: this.entrypoint,
      mounts: this.volumes,
      envNames: Object.keys(super.processEnv(job)),
      cwd: this.cwd || this.mountedWorkdir,
      binArgs: this.binArgs,
      remove: this.remove,
      user: this.user,
      name: this.containerName(job),
      labels: {
        "xqc.run": this.runId,
        "xqc.workdir": this.workdir,
        "xqc.job": String(job.index),
      },
    });
  }

  /**
   * The engine client's environment: the jobs' variables, as the engine takes them.
   *
   * @param job The job.
   * @returns Names and values.
   */
  override processEnv(job: Job): Record<string, string> {
    return this.engine.clientEnv(super.processEnv(job));
  }

  /**
   * The named mounts' variables, then the plugins' onJobcmdInit.
   *
   * @param job The job.
   * @returns Bash code.
   */
  override jobcmdInit(job: Job): string {
    const exports = Object.entries(this.pathEnvs).map(([name, path]) =>
      `export ${name}=${shellQuote(path)}`
    );
    return [...exports, super.jobcmdInit(job)].filter(Boolean).join("\n");
  }

  /**
   * Make the metadir writable for the container's user when that is not the workdir's
   * owner, then start the job.
   *
   * @param job The job.
   * @returns The container name (docker/podman) or the pid (apptainer).
   */
  override async submitJob(job: Job): Promise<string> {
    await this.#shareMetadir(job);
    return await super.submitJob(job);
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
  terminate(job: Job): Promise<void> {
    return this.engine.kill(job.jid, this.remove);
  }

  /**
   * Whether the engine runs a job.
   *
   * @param jid The job's id.
   * @returns `true` while it runs.
   */
  protected jidIsRunning(jid: string): Promise<boolean> {
    return this.engine.isRunning(jid, this.workdir);
  }

  /**
   * The running jobs the engine still runs: one engine call for all, where it can list them.
   *
   * @param jobs Running jobs.
   * @returns Their ids that run.
   */
  protected override async liveJids(jobs: readonly Job[]): Promise<Set<string>> {
    return await this.engine.liveJobs(this.runId) ?? await super.liveJids(jobs);
  }

  async #shareMetadir(job: Job): Promise<void> {
    const user = this.engine.containerUser(this.user);
    if (user === null) return;
    if (this.#shared === null) {
      const info = await Deno.stat(this.workdir);
      const [uid, gid] = user.split(":");
      this.#shared = !(String(info.uid) === uid && (gid === undefined || String(info.gid) === gid));
      if (this.#shared) {
        // The container's user must reach its metadir through the mounted workdir.
        await Deno.chmod(this.workdir, (info.mode ?? 0o755) & 0o777 | 0o011);
      }
    }
    if (!this.#shared) return;
    const [uid, gid] = user.split(":").map(Number);
    if (Deno.uid() === 0 && Number.isInteger(uid) && (gid === undefined || Number.isInteger(gid))) {
      await Deno.chown(job.metadir, uid, Number.isInteger(gid) ? gid : null);
    } else {
      // Not root, so not able to give the metadir away: everyone may write in it, but with
      // the sticky bit only a file's owner may remove or replace it, and the wrapper is this
      // user's, read-only to others.
      await Deno.chmod(job.metadir, 0o1777);
    }
  }
}
