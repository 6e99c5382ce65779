// How a job's wrapper runs in a container: the engine, its command, mounts, names and user.
// Shared by the schedulers that run containers, on this host or on cluster nodes.

import type { Job } from "../core/job.ts";
import { shellJoin, shellQuote } from "../core/shell.ts";
import type { Engine } from "../engines/engine.ts";
import { hostPathOf, type Mount } from "../engines/mounts.ts";
import { engineFor } from "../engines/select.ts";
import type { ResolvedContainerOptions } from "./container_options.ts";

/** Where the run is, for what the containers need of it. */
export interface LaunchPlace {
  /** The workdir on the host. */
  workdir: string;
  /** The workdir as jobs see it. */
  mountedWorkdir: string;
  /** Where jobs start, as they see it (empty: the mounted workdir). */
  cwd: string;
}

/** Runs job wrappers in containers of one engine and image. */
export class ContainerLauncher {
  /** The engine. */
  readonly engine: Engine;
  /** The image, as the engine wants it. */
  readonly image: string;
  /** What runs the wrapper in the container. */
  readonly entrypoint: string[];
  /** The mounts, the workdir's last. */
  readonly volumes: Mount[];
  /** Variables of the named mounts: name → in-container path. */
  readonly pathEnvs: Record<string, string>;
  /** Remove containers when they end. */
  readonly remove: boolean;
  /** The container user (docker/podman). */
  readonly user: string;
  /** More engine arguments. */
  readonly binArgs: string[];
  /** What identifies the image's content, once checked. */
  imageId: string | null = null;

  #place: LaunchPlace;
  #shared: boolean | null = null;

  /**
   * A launcher for checked options.
   *
   * @param options The container options, checked.
   * @param place The workdir and cwd.
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

  /**
   * Check the engine and the image; remember what identifies the image's content.
   *
   * @throws {EngineUnavailableError} When either is missing.
   */
  async checkImage(): Promise<void> {
    this.imageId = await this.engine.checkImage(this.image);
  }

  /**
   * What decides a job's result on the container's side, for the resume hash.
   *
   * @returns The image's content, the entrypoint, the mounts, the user, the engine args.
   */
  identity(): Record<string, unknown> {
    return {
      image: this.imageId ?? this.image,
      entrypoint: this.entrypoint,
      volumes: this.volumes,
      user: this.user,
      binArgs: this.binArgs,
    };
  }

  /**
   * The engine argv that runs a job's wrapper, without the wrapper's path.
   *
   * @param job The job.
   * @param name The container's name.
   * @param runId The run's id (a label).
   * @param envNames The names of the job's variables (values come from the environment).
   * @returns The argv.
   */
  argv(job: Job, name: string, runId: string, envNames: readonly string[]): string[] {
    return this.engine.runArgv({
      image: this.image,
      entrypoint: this.entrypoint,
      mounts: this.volumes,
      envNames,
      cwd: this.#place.cwd || this.#place.mountedWorkdir,
      binArgs: this.binArgs,
      remove: this.remove,
      user: this.user,
      name,
      labels: {
        "xqc.run": runId,
        "xqc.workdir": this.#place.workdir,
        "xqc.job": String(job.index),
      },
    });
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
