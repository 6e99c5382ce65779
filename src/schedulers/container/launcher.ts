// How a job's wrapper runs in a container: the engine, its images (pulled once), command,
// mounts, names, user and limits. Shared by the schedulers that run containers, on this
// host or on cluster nodes.

import { agentScript } from "../../core/agent.ts";
import type { Job } from "../../core/job.ts";
import type { Logger } from "../../core/logger.ts";
import type { Resources } from "../../core/resources.ts";
import { shellJoin, shellQuote } from "../../core/shell.ts";
import type { Engine, PullOptions, ResolvedImage } from "../../engines/engine.ts";
import { hostPathOf, type Mount } from "../../engines/mounts.ts";
import { engineFor } from "../../engines/select.ts";
import type { ResolvedContainerOptions } from "./options.ts";

/** Where the run is, for what the containers need of it. */
export interface LaunchPlace {
  /** The workdir on the host. */
  readonly workdir: string;
  /** The workdir as jobs see it. */
  readonly mountedWorkdir: string;
  /** Where jobs start, as they see it (empty: the mounted workdir). */
  readonly cwd: string;
  /** Where messages (pull progress) go. */
  readonly logger: Logger;
}

/** Runs job wrappers in containers of one engine. */
export class ContainerLauncher {
  /** The engine. */
  readonly engine: Engine;
  /** The image jobs run in unless they name their own, as the engine wants it. */
  readonly image: string;
  /** What runs the wrapper in the container. */
  readonly entrypoint: string[];
  /** The mounts, the workdir's last. */
  readonly volumes: Mount[];
  /** Variables of the named mounts: name → in-container path. */
  readonly pathEnvs: Record<string, string>;
  /** Remove containers when they end. */
  readonly remove: boolean;
  /** The container user (docker/podman); `null`: whoever runs xqc. */
  readonly user: string | null;
  /** More engine arguments. */
  readonly binArgs: string[];
  /** Host variables that jobs get too. */
  readonly envPass: string[];

  #options: ResolvedContainerOptions;
  #place: LaunchPlace;
  #images = new Map<string, Promise<ResolvedImage>>();
  #resolved = new Map<string, ResolvedImage>();
  #limitsChecked = new Map<string, Promise<void>>();
  #shared: boolean | null = null;

  /**
   * A launcher for checked options.
   *
   * @param options The container options, checked.
   * @param place The workdir, the cwd and the logger.
   * @throws {TypeError} When a volume takes the workdir's mount point.
   * @throws {EngineUnavailableError} When the engine binary is not on PATH.
   */
  constructor(options: ResolvedContainerOptions, place: LaunchPlace) {
    this.engine = engineFor(options.bin);
    this.image = this.engine.imageRef(options.image);
    this.entrypoint = options.entrypoint;
    this.remove = options.remove;
    this.user = options.user;
    this.binArgs = options.binArgs;
    this.pathEnvs = options.pathEnvs;
    this.envPass = options.envPass;
    this.#options = options;
    this.#place = place;
    this.volumes = [...options.mounts];
    // A volume may cover the workdir already (volumeAsCwd with the default workdir).
    if (hostPathOf(this.volumes, place.mountedWorkdir) !== place.workdir) {
      this.volumes.push({ host: place.workdir, container: place.mountedWorkdir, options: "" });
    }
    const clash = this.volumes.find((m) =>
      m.container === place.mountedWorkdir && m.host !== place.workdir
    );
    if (clash) {
      throw new TypeError(
        `Mount point "${place.mountedWorkdir}" is given two host paths: "${clash.host}" and the workdir "${place.workdir}"`,
      );
    }
  }

  /** The entrypoint, quoted as a shell would need it (the wrapper's interpreter line). */
  get shebang(): string {
    return shellJoin(this.entrypoint);
  }

  /** What identifies the default image's content, once it is ready. */
  get imageId(): string | null {
    return this.#resolved.get(this.image)?.id ?? null;
  }

  /** When and how images are pulled. */
  get pullOptions(): PullOptions {
    return {
      pull: this.#options.pull,
      pullArgs: this.#options.pullArgs,
      cacheDir: this.#options.cacheDir,
      sifCache: this.#options.sifCache,
      logger: this.#place.logger,
    };
  }

  /**
   * Make an image ready, once however many jobs ask (pulled when the policy says so).
   *
   * @param image The image as given (default: the launcher's).
   * @returns What to run and its content's id.
   * @throws {EngineUnavailableError} When the engine, the image or its pull fails.
   */
  async ready(image: string = this.image): Promise<ResolvedImage> {
    const ref = this.engine.imageRef(image);
    let ready = this.#images.get(ref);
    if (!ready) {
      ready = this.engine.resolveImage(ref, this.pullOptions).then((resolved) => {
        this.#resolved.set(ref, resolved);
        return resolved;
      });
      ready.catch(() => this.#images.delete(ref));
      this.#images.set(ref, ready);
    }
    return await ready;
  }

  /**
   * Make a job's image ready and check its limits can be applied (once per kind of limit).
   *
   * @param job The job.
   * @param resources Its resources.
   * @throws {EngineUnavailableError} When its image or its limits cannot be had.
   */
  async prepareJob(job: Job, resources: Resources): Promise<void> {
    const { ref } = await this.ready(job.image ?? this.image);
    const key = `${resources.cpus !== undefined}:${resources.memory !== undefined}`;
    if (!this.#limitsChecked.has(key)) {
      this.#limitsChecked.set(key, this.engine.checkResources(resources, ref, this.pullOptions));
    }
    await this.#limitsChecked.get(key);
  }

  /**
   * What decides a job's result on the container's side, for the resume hash.
   *
   * @param job The job.
   * @returns Its image's content, the entrypoint, the mounts, the user, the engine args.
   */
  identity(job: Job): Record<string, unknown> {
    const image = this.engine.imageRef(job.image ?? this.image);
    return {
      image: this.#resolved.get(image)?.id ?? image,
      entrypoint: this.entrypoint,
      volumes: this.volumes,
      user: this.user,
      binArgs: this.binArgs,
      envPass: this.envPass,
    };
  }

  /**
   * A job's variables, with the host variables passed on by `envPass`.
   *
   * @param envs The job's variables.
   * @returns All the variables the job gets.
   */
  jobEnvs(envs: Readonly<Record<string, string>>): Record<string, string> {
    const passed: Record<string, string> = {};
    for (const name of this.envPass) {
      const value = Deno.env.get(name);
      if (value !== undefined) passed[name] = value;
    }
    return { ...passed, ...envs };
  }

  /**
   * The engine argv that runs a job's wrapper, without the wrapper's path.
   *
   * @param job The job.
   * @param name The container's name.
   * @param runId The run's id (a label).
   * @param envNames The names of the job's variables (values come from the environment).
   * @param resources The trial's resources.
   * @returns The argv.
   */
  argv(
    job: Job,
    name: string,
    runId: string,
    envNames: readonly string[],
    resources: Resources,
  ): string[] {
    return this.engine.runArgv({
      ...this.#spec(job.image ?? this.image, resources, name),
      entrypoint: this.entrypoint,
      envNames,
      labels: {
        "xqc.run": runId,
        "xqc.workdir": this.#place.workdir,
        "xqc.job": String(job.index),
      },
    });
  }

  /**
   * The engine argv of a pool container: the agent in a long-lived container with the
   * image, mounts, user, limits and engine arguments a single job would get, its stdin open.
   *
   * @param image The image as given (jobs may name their own).
   * @param resources The limits of the jobs it runs.
   * @param name The container's name.
   * @param runId The run's id (a label).
   * @param wrapperName The file name of the jobs' wrappers.
   * @param channel The agent's FIFOs' path, without `.in`/`.out`, as the container sees it
   *   (none: it talks on its stdin and stdout).
   * @param cgroup The cgroup folders the run made for the container, which its agent joins.
   * @returns The argv.
   */
  agentArgv(
    image: string,
    resources: Resources,
    name: string,
    runId: string,
    wrapperName: string,
    channel?: string,
    cgroup: readonly string[] = [],
  ): string[] {
    const agent = [
      "-c",
      agentScript(),
      "xqc-pool-agent",
      wrapperName,
      ...(channel || cgroup.length ? [channel ?? ""] : []),
      ...cgroup,
    ];
    return this.engine.runArgv({
      ...this.#spec(image, resources, name),
      entrypoint: [...this.entrypoint, ...agent],
      envNames: [],
      labels: { "xqc.run": runId, "xqc.workdir": this.#place.workdir, "xqc.pool": name },
      interactive: true,
    });
  }

  /** What every container of the run gets: its image (as pulled), mounts, cwd, user, limits. */
  #spec(image: string, resources: Resources, name: string) {
    const ref = this.engine.imageRef(image);
    return {
      image: this.#resolved.get(ref)?.ref ?? ref,
      mounts: this.volumes,
      cwd: this.#place.cwd || this.#place.mountedWorkdir,
      binArgs: this.binArgs,
      remove: this.remove,
      user: this.user,
      resources,
      name,
    };
  }

  /** Bash that exports the named mounts' variables in the wrapper. */
  get exports(): string {
    return Object.entries(this.pathEnvs).map(([name, path]) => `export ${name}=${shellQuote(path)}`)
      .join("\n");
  }

  /**
   * Make a job's metadir writable for the container's user when that is not the workdir's
   * owner: chowned when this process is root, else world-writable with the sticky bit.
   *
   * @param job The job.
   */
  async shareMetadir(job: Job): Promise<void> {
    const user = this.engine.containerUser(this.user);
    if (user === null) return;
    const workdir = this.#place.workdir;
    if (this.#shared === null) {
      const info = await Deno.stat(workdir);
      const [uid, gid] = user.split(":");
      this.#shared = !(String(info.uid) === uid && (gid === undefined || String(info.gid) === gid));
      if (this.#shared) {
        // The container's user must reach its metadir through the mounted workdir.
        await Deno.chmod(workdir, (info.mode ?? 0o755) & 0o777 | 0o011);
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
