// The container scheduler's options: their checks, and where the workdir and cwd end up.

import { join } from "@std/path/posix";
import { cacheDir } from "../../core/cache.ts";
import { isEnvName } from "../../core/job.ts";
import { checkBoolean, checkInteger, checkString, checkStringList } from "../../core/options.ts";
import type { PullPolicy } from "../../engines/engine.ts";
import { hostPathOf, type Mount, MOUNTED_ROOT, resolveVolumes } from "../../engines/mounts.ts";
import type { SchedulerOptions } from "../options.ts";

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
  /** When to pull images: when missing (default), always, or never. */
  pull?: PullPolicy;
  /** More arguments for the pull (`--tls-verify=false` for podman, `--no-https` for apptainer). */
  pullArgs?: string[];
  /** Where apptainer keeps the SIFs it pulls (default `$XDG_CACHE_HOME/xqc/sif`). */
  sifCache?: string;
  /** Variables of this environment that jobs get too (containers get only their own). */
  envPass?: string[];
  /**
   * Run jobs in a pool of long-lived containers, one a fork slot, instead of a container a
   * job (default false).
   */
  pool?: boolean;
  /** With `pool`, a fresh container every this many jobs (default 0: never). */
  poolRecycle?: number;
}

/** The options {@linkcode ContainerScheduler} takes besides the base ones. */
export const CONTAINER_OPTION_KEYS: readonly string[] = [
  "image",
  "entrypoint",
  "bin",
  "volumes",
  "mount",
  "volumeAsCwd",
  "mountAsCwd",
  "remove",
  "user",
  "binArgs",
  "pull",
  "pullArgs",
  "sifCache",
  "envPass",
  "pool",
  "poolRecycle",
];

/** The folder `volumeAsCwd` is mounted at. */
export const MOUNTED_CWD = `${MOUNTED_ROOT}/.cwd`;
/** The default mounted workdir, as xqute's. */
export const DEFAULT_MOUNTED_WORKDIR = `${MOUNTED_ROOT}/xqute_workdir`;

/** The container options, checked, with the workdir and cwd they imply. */
export interface ResolvedContainerOptions {
  /** The image as given. */
  image: string;
  /** The engine binary as given. */
  bin: string;
  /** The entrypoint, as an argv. */
  entrypoint: string[];
  /** The volumes' mounts (the workdir's is added by the scheduler). */
  mounts: Mount[];
  /** Named mounts' variables. */
  pathEnvs: Record<string, string>;
  /** Remove containers when they end. */
  remove: boolean;
  /** The container user; `null`: whoever runs xqc. */
  user: string | null;
  /** More engine arguments. */
  binArgs: string[];
  /** When to pull images. */
  pull: PullPolicy;
  /** More pull arguments. */
  pullArgs: string[];
  /** xqc's cache folder. */
  cacheDir: string;
  /** Where pulled SIFs go. */
  sifCache: string;
  /** Host variables passed to jobs. */
  envPass: string[];
  /** Run jobs in a pool of long-lived containers. */
  pool: boolean;
  /** A fresh pool container every this many jobs (0: never). */
  poolRecycle: number;
  /** The base options, with the workdir, mounted workdir and cwd the container ones imply. */
  base: SchedulerOptions;
}

/**
 * Check the container options, and work out the workdir and cwd as xqute does: with
 * `volumeAsCwd` jobs start in that folder; with a `cwd` inside a volume and no workdir,
 * the workdir is `.xqute` in the host folder the cwd comes from.
 *
 * @param options The options.
 * @returns The options, checked.
 * @throws {TypeError} For a bad or conflicting option.
 */
export function resolveContainerOptions(
  options: ContainerSchedulerOptions,
): ResolvedContainerOptions {
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
  const specs = checkStringList("volumes", options.volumes ?? options.mount);
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
    const host = hostPathOf(mounts, cwd);
    if (host === null) {
      throw new TypeError(`Option "cwd" ("${cwd}") is not inside any volume; give a workdir`);
    }
    workdir = join(host, ".xqute");
    mountedWorkdir ??= `${cwd}/.xqute`;
  }
  mountedWorkdir ??= asCwd !== undefined ? `${MOUNTED_ROOT}/.xqute` : DEFAULT_MOUNTED_WORKDIR;
  if (typeof options.image !== "string" || options.image.trim() === "") {
    throw new TypeError(`Option "image" is required`);
  }
  const bin = options.bin ?? "docker";
  if (typeof bin !== "string" || bin === "") throw new TypeError(`Option "bin" must be a string`);
  const given = options.entrypoint ?? "/bin/bash";
  const entrypoint = typeof given === "string" ? [given] : Array.isArray(given) ? [...given] : [];
  if (!entrypoint.length || entrypoint.some((w) => typeof w !== "string" || !w)) {
    throw new TypeError(`Option "entrypoint" must be a program, or an argv of strings`);
  }
  const user = options.user ?? null;
  if (
    user !== null &&
    (typeof user !== "string" || !/^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$/.test(user))
  ) {
    throw new TypeError(`Option "user" must be uid[:gid] or a name, not "${user}"`);
  }
  const pull = options.pull ?? "missing";
  if (!["missing", "always", "never"].includes(pull)) {
    throw new TypeError(`Option "pull" must be missing, always or never, not "${pull}"`);
  }
  const envPass = checkStringList("envPass", options.envPass);
  const badName = envPass.find((name) => !isEnvName(name));
  if (badName !== undefined) throw new TypeError(`Option "envPass": bad env name "${badName}"`);
  const pool = checkBoolean("pool", options.pool ?? false);
  const poolRecycle = checkInteger("poolRecycle", options.poolRecycle ?? 0, 0);
  if (poolRecycle > 0 && !pool) {
    throw new TypeError(`Option "poolRecycle" needs "pool"`);
  }
  const cache = cacheDir();
  return {
    image: options.image,
    bin,
    entrypoint,
    mounts,
    pathEnvs,
    remove: checkBoolean("remove", options.remove ?? true),
    user,
    binArgs: checkStringList("binArgs", options.binArgs),
    pull,
    pullArgs: checkStringList("pullArgs", options.pullArgs),
    cacheDir: cache,
    sifCache: checkString("sifCache", options.sifCache ?? join(cache, "sif")),
    envPass,
    pool,
    poolRecycle,
    base: { ...options, workdir, mountedWorkdir, cwd },
  };
}
