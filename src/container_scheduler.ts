// The container scheduler: each job's wrapper runs in a Docker, Podman or Apptainer container.

import { join } from "@std/path";
import { type Engine, type EngineName, engineOf, ENGINES, findOnPath } from "./engine.ts";
import { EngineUnavailableError } from "./errors.ts";
import type { Job } from "./job.ts";
import { KILL_GRACE_MS, killGroup } from "./local_scheduler.ts";
import { hostPathOf, type Mount, MOUNTED_ROOT, resolveVolumes } from "./mounts.ts";
import { runCommand, signalGroup } from "./process.ts";
import { reapLeftovers } from "./orphans.ts";
import { Scheduler, type SchedulerOptions } from "./scheduler.ts";
import { shellQuote } from "./shell.ts";

/** Options of {@linkcode ContainerScheduler}: xqute's, then the base scheduler's. */
export interface ContainerSchedulerOptions extends SchedulerOptions {
  /** The image: a name for docker/podman, a `.sif`, sandbox folder or URI for apptainer. */
  image: string;
  /** What runs the wrapper in the container (default `/bin/bash`). */
  entrypoint?: string | string[];
  /** The engine binary, on PATH or a path (default `docker`). */
  bin?: string;
  /** `host:container[:options]` or `NAME=/host/path`, one or a list. */
  volumes?: string | string[];
  /** An alias of `volumes`. */
  mount?: string | string[];
  /** A host folder mounted at `/mnt/disks/.cwd`, where jobs start. */
  volumeAsCwd?: string;
  /** An alias of `volumeAsCwd`. */
  mountAsCwd?: string;
  /** `--rm` the containers (docker/podman; default true). */
  remove?: boolean;
  /** `--user` (docker/podman; default the current uid:gid). */
  user?: string;
  /** More engine arguments, put before the image. */
  binArgs?: string[];
}

/** The folder `volumeAsCwd` is mounted at. */
export const MOUNTED_CWD = `${MOUNTED_ROOT}/.cwd`;
/** The default mounted workdir, as xqute's. */
export const DEFAULT_MOUNTED_WORKDIR = `${MOUNTED_ROOT}/xqute_workdir`;

function asList(name: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== "string")) {
    throw new TypeError(`Option "${name}" must be a string or a list of strings`);
  }
  return list;
}

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
export class ContainerScheduler extends Scheduler {
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

  /**
   * Make a container scheduler: checks the options, the volumes and that the engine
   * binary is on PATH (the image is checked by `prepare()`, before the first job).
   *
   * @param options The options; `image` is required.
   */
  constructor(options: ContainerSchedulerOptions) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError("Options must be an object");
    }
    if (options.volumes !== undefined && options.mount !== undefined) {
      throw new TypeError(`Give "volumes" or "mount", not both`);
    }
    if (options.volumeAsCwd !== undefined && options.mountAsCwd !== undefined) {
      throw new TypeError(`Give "volumeAsCwd" or "mountAsCwd", not both`);
    }
    const asCwd = options.volumeAsCwd ?? options.mountAsCwd;
    if (asCwd !== undefined && options.cwd !== undefined) {
      throw new TypeError(`Give "volumeAsCwd" or "cwd", not both`);
    }
    const specs = asList("volumes", options.volumes ?? options.mount);
    if (asCwd !== undefined) {
      if (typeof asCwd !== "string" || asCwd === "") {
        throw new TypeError(`Option "volumeAsCwd" must be a host path`);
      }
      specs.unshift(`${asCwd}:${MOUNTED_CWD}`);
    }
    const { mounts, pathEnvs } = resolveVolumes(specs);
    const cwd = asCwd !== undefined ? MOUNTED_CWD : options.cwd;
    let workdir = options.workdir;
    let mountedWorkdir = options.mountedWorkdir;
    if (cwd && workdir === undefined) {
      // As xqute: without a workdir, it is `.xqute` in the host folder the cwd comes from.
      const host = hostPathOf(mounts, cwd);
      if (host === null) {
        throw new TypeError(`Option "cwd" ("${cwd}") is not inside any volume; give a workdir`);
      }
      workdir = join(host, ".xqute");
      mountedWorkdir ??= `${cwd}/.xqute`;
    }
    mountedWorkdir ??= asCwd !== undefined ? `${MOUNTED_ROOT}/.xqute` : DEFAULT_MOUNTED_WORKDIR;
    super({ ...options, workdir, mountedWorkdir, cwd });

    if (typeof options.image !== "string" || options.image.trim() === "") {
      throw new TypeError(`Option "image" is required`);
    }
    const bin = options.bin ?? "docker";
    if (typeof bin !== "string" || bin === "") throw new TypeError(`Option "bin" must be a string`);
    const engineName: EngineName = engineOf(bin);
    const found = findOnPath(bin);
    if (!found) throw new EngineUnavailableError(`Engine binary "${bin}" is not on PATH`);
    this.bin = found;
    this.engine = ENGINES[engineName];
    this.image = this.engine.imageRef(options.image);
    const entrypoint = options.entrypoint ?? "/bin/bash";
    this.entrypoint = typeof entrypoint === "string" ? [entrypoint] : [...entrypoint];
    if (!this.entrypoint.length || this.entrypoint.some((w) => typeof w !== "string" || !w)) {
      throw new TypeError(`Option "entrypoint" must be a program, or an argv of strings`);
    }
    this.remove = options.remove ?? true;
    if (typeof this.remove !== "boolean") {
      throw new TypeError(`Option "remove" must be true or false`);
    }
    this.user = options.user ?? `${Deno.uid() ?? 0}:${Deno.gid() ?? 0}`;
    if (typeof this.user !== "string" || !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(this.user)) {
      throw new TypeError(`Option "user" must be uid[:gid] or a name, not "${this.user}"`);
    }
    this.binArgs = asList("binArgs", options.binArgs);
    this.pathEnvs = pathEnvs;
    this.volumes = [...mounts];
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

  /**
   * The image is checked once before the first job: the engine answers and has it.
   *
   * @throws {EngineUnavailableError} When either is missing.
   */
  override async prepare(): Promise<void> {
    // Listing a crashed run's containers only reads: it goes along with the image check.
    this.#leftovers = this.engine.listByWorkdir(this.bin, this.workdir);
    this.#leftovers.catch(() => {});
    await this.engine.checkImage(this.bin, this.image);
  }

  #leftovers: Promise<string[]> | null = null;

  /**
   * Stop the containers that an earlier run of this workdir left (it was killed with -9,
   * so the daemon kept them).
   *
   * @returns Their names.
   */
  override async reapOrphans(): Promise<string[]> {
    const leftovers = await reapLeftovers(this.workdir, this.bin, this.#leftovers ?? undefined);
    this.#leftovers = null;
    return leftovers;
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
      bin: this.bin,
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

  /** The entrypoint, as the wrapper's interpreter line. */
  override get wrapperShebang(): string {
    return this.entrypoint.join(" ");
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
   * The job's id: its container name, or for apptainer its process group.
   *
   * @param job The job.
   * @param pid The client's pid.
   * @returns The id.
   */
  override jobId(job: Job, pid: number): string {
    return this.engine.namesContainers ? this.containerName(job) : String(pid);
  }

  /**
   * Kill a job: its container through the engine (docker/podman), until the client
   * has gone; for apptainer, its process group.
   *
   * @param job The job.
   */
  async killJob(job: Job): Promise<void> {
    const process = this.processOf(job);
    if (!this.engine.namesContainers) {
      await killGroup(this, job);
      return;
    }
    const argv = this.engine.removeArgv(this.bin, this.containerName(job), this.remove);
    // The container may not exist yet when the kill comes: try again until the client ends.
    for (let i = 0; i < 30; i++) {
      await runCommand(argv);
      if (await this.waitGone(job, 1000)) return;
    }
    if (process) signalGroup(process.pid, "SIGKILL");
    await this.waitGone(job, KILL_GRACE_MS);
  }

  #shared: boolean | null = null;

  async #shareMetadir(job: Job): Promise<void> {
    if (!this.engine.takesUser) return;
    if (this.#shared === null) {
      const info = await Deno.stat(this.workdir);
      const [uid, gid] = this.user.split(":");
      this.#shared = !(String(info.uid) === uid && (gid === undefined || String(info.gid) === gid));
      if (this.#shared) {
        // The container's user must reach its metadir through the mounted workdir.
        await Deno.chmod(this.workdir, (info.mode ?? 0o755) & 0o777 | 0o011);
      }
    }
    if (!this.#shared) return;
    const [uid, gid] = this.user.split(":").map(Number);
    if (Deno.uid() === 0 && Number.isInteger(uid) && (gid === undefined || Number.isInteger(gid))) {
      await Deno.chown(job.metadir, uid, Number.isInteger(gid) ? gid : null);
    } else {
      await Deno.chmod(job.metadir, 0o777);
    }
  }
}
