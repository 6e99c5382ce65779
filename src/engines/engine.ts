// The contract every container engine meets: how a job is started, killed, found and checked.

import type { Logger } from "../core/logger.ts";
import type { Resources } from "../core/resources.ts";
import type { Mount } from "./mounts.ts";

/** The engines, by the name their binary's basename gives. */
export type EngineName = "docker" | "podman" | "apptainer";

/** Everything an engine needs to start one job. */
export interface RunSpec {
  /** The image (a name, a `.sif` file, a sandbox folder or a URI). */
  image: string;
  /** The program that runs the wrapper in the container. */
  entrypoint: readonly string[];
  /** The bind mounts. */
  mounts: readonly Mount[];
  /** Names of the variables passed from the client's environment. */
  envNames: readonly string[];
  /** The container's working directory. */
  cwd: string;
  /** Extra engine arguments, put before the image. */
  binArgs: readonly string[];
  /** Remove the container when it ends (docker/podman `--rm`). */
  remove: boolean;
  /** The user the job runs as (docker/podman `--user`); `null`: whoever runs xqc. */
  user: string | null;
  /** The trial's CPUs, memory and GPUs. */
  resources: Resources;
  /** The container's name. */
  name: string;
  /** Labels that find the container again (docker/podman). */
  labels: Readonly<Record<string, string>>;
  /** Keep the container's stdin open to the client (docker/podman `-i`): a pool's agent reads it. */
  interactive?: boolean;
}

/** When to pull an image: when it is missing (default), always, or never. */
export type PullPolicy = "missing" | "always" | "never";

/** How images are made ready. */
export interface PullOptions {
  /** When to pull. */
  pull: PullPolicy;
  /** More arguments for the pull command (`--tls-verify=false`, `--no-https`). */
  pullArgs: readonly string[];
  /** xqc's cache folder: pull locks, digests, apptainer's configuration. */
  cacheDir: string;
  /** Where pulled SIF images go (apptainer). */
  sifCache: string;
  /** Where pull progress goes. */
  logger: Logger;
}

/** An image made ready to run. */
export interface ResolvedImage {
  /** What to give the engine to run it (an image name, or a pulled SIF's path). */
  ref: string;
  /** What identifies its content (an image id, a SIF's SHA-256). */
  id: string;
}

/** One engine's behaviour; each engine's file holds all that differs for it. */
export interface Engine {
  /** Its name. */
  readonly name: EngineName;
  /** The engine binary's path. */
  readonly bin: string;
  /** How long to wait for a killed job's client to end before SIGKILL, in ms. */
  readonly killGraceMs: number;
  /**
   * Whether a job with these limits gets a cgroup of its own from the engine, where its
   * memory and CPU are counted; otherwise the run makes one when it can.
   *
   * @param resources The trial's limits.
   */
  ownsCgroup(resources: Resources): boolean;
  /**
   * Whether its containers run under a daemon (docker's, podman's conmon), not as the
   * client's children: they are outside the client's process group and Slurm job (so their
   * engine applies their limits), and their stdin and stdout pass through the daemon (so a
   * pool's agent talks through FIFOs in the mounted workdir, a hop instead of three).
   */
  readonly daemonContainers: boolean;
  /**
   * Where a job's client must run, when not where xqc runs: an engine that leaves files in
   * its client's working directory gets the job's metadir.
   *
   * @param metadir The job's metadir (or a pool's folder).
   * @returns The folder, or `null` for xqc's own.
   */
  clientCwd(metadir: string): string | null;
  /**
   * The image as this engine wants it.
   *
   * @param image The image as given.
   */
  imageRef(image: string): string;
  /**
   * The argv that runs a job, up to the entrypoint (the wrapper's path follows).
   *
   * @param spec What to run.
   */
  runArgv(spec: RunSpec): string[];
  /**
   * The client's environment for a job's variables.
   *
   * @param envs The job's variables.
   */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string>;
  /**
   * Make an image ready: check the engine answers and has it, pulling it once (under a lock
   * other runs of this machine wait on) when the policy says so.
   *
   * @param image The image.
   * @param options When and how to pull.
   * @returns What to run, and what identifies its content.
   * @throws {EngineUnavailableError} When the engine, the image or the pull fails.
   */
  resolveImage(image: string, options: PullOptions): Promise<ResolvedImage>;
  /**
   * Check that the engine can apply these resources; fix what it can (apptainer's cgroups
   * configuration).
   *
   * @param resources The resources some job asks for.
   * @param image A resolved image to try them with.
   * @param options Where a configuration it writes may go.
   * @throws {EngineUnavailableError} When limits cannot be applied here.
   */
  checkResources(resources: Resources, image: string, options: PullOptions): Promise<void>;
  /**
   * What `job.jid` holds for a job: its container name, or its client's pid.
   *
   * @param name The container's name.
   * @param pid The client's pid.
   */
  jobId(name: string, pid: number): string;
  /**
   * The user a job runs as when it is not the client's own, so that it can be given its
   * metadir; `null` when jobs run as the user who starts them.
   *
   * @param user The `user` option (`null`: not given).
   */
  containerUser(user: string | null): string | null;
  /**
   * Kill a job where it runs. Called again while its client lives (the container may not
   * exist yet when the first call comes).
   *
   * @param jid The job's id.
   * @param remove Whether its container is removed too.
   */
  kill(jid: string, remove: boolean): Promise<void>;
  /**
   * The argv that stops a job's container by name, from a script on the node that started it
   * (a Slurm batch script when Slurm stops the job); `null` when the container is a process
   * of the script's job and ends with it.
   *
   * @param name The container's name.
   * @param remove Whether the container is removed too.
   */
  stopArgv(name: string, remove: boolean): string[] | null;
  /**
   * Whether a job runs, asked of the engine (not of this process's memory); throws when
   * the engine cannot tell (it does not answer), which is no answer, not a "no".
   *
   * @param jid The job's id.
   * @param workdir The run's workdir.
   */
  isRunning(jid: string, workdir: string): Promise<boolean>;
  /**
   * The ids of a run's jobs that the engine runs, in one call; `null` when the engine
   * cannot list them (its jobs are processes of this host, watched directly); throws when
   * the listing fails.
   *
   * @param runId The run's id.
   */
  liveJobs(runId: string): Promise<Set<string> | null>;
  /**
   * The containers of a workdir that still run (a crashed run's leftovers); containers
   * that ended and were kept (`remove: false`) are not leftovers.
   *
   * @param workdir The workdir.
   */
  leftovers(workdir: string): Promise<string[]>;
  /**
   * Remove leftover containers by name.
   *
   * @param names Their names.
   */
  removeContainers(names: readonly string[]): Promise<void>;
}
