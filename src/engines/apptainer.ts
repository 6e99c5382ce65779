// Apptainer (and Singularity): jobs are processes of this host, in their own process group,
// in a clean environment; URIs are pulled once into a SIF cache.

import { EngineUnavailableError } from "../core/errors.ts";
import { isTaggedProcess, runCommand, signalGroup } from "../core/process.ts";
import { formatMemory, type Resources } from "../core/resources.ts";
import type { Engine, EngineName, PullOptions, ResolvedImage, RunSpec } from "./engine.ts";
import { mountText } from "./mounts.ts";
import { lastLine } from "./oci.ts";
import { cgroupsConfig, pulledSif, sifDigest } from "./sif.ts";

const URI = /^[a-z][a-z0-9+.-]*:\/\//;

/** The Apptainer engine. */
export class ApptainerEngine implements Engine {
  /** `"apptainer"`. */
  readonly name: EngineName = "apptainer";
  /** The binary's path. */
  readonly bin: string;
  /** A killed job's group gets SIGTERM, then SIGKILL after this long. */
  readonly killGraceMs = 3000;
  /** Apptainer makes a cgroup of a job's own only to apply cpus or memory limits. */
  ownsCgroup(resources: Resources): boolean {
    return resources.cpus !== undefined || resources.memory !== undefined;
  }
  /** The container's processes are the client's children: its pipes and cgroup are theirs. */
  readonly daemonContainers = false;

  /** Where xqc runs: apptainer mounts it, and a job without a cwd of its own starts there. */
  clientCwd(_metadir: string): string | null {
    return null;
  }
  /**
   * A configuration file given to every call (`apptainer -c FILE`), when limits need one
   * that does not ask systemd for cgroups.
   */
  config: string | null = null;

  /**
   * An engine driven through a binary.
   *
   * @param bin The binary's path (`apptainer` or `singularity`).
   */
  constructor(bin: string) {
    this.bin = bin;
  }

  /** The image as given: a `.sif`, a sandbox folder or a URI. */
  imageRef(image: string): string {
    return image;
  }

  /**
   * `exec --cleanenv --no-eval --bind … --pwd … <limits> IMAGE ENTRYPOINT`: the job sees
   * its own variables (passed as APPTAINERENV_*, kept literally by --no-eval) and none of
   * the host's.
   */
  runArgv(spec: RunSpec): string[] {
    const argv = [this.bin, "--quiet", ...(this.config ? ["-c", this.config] : [])];
    argv.push("exec", "--cleanenv", "--no-eval");
    for (const mount of spec.mounts) argv.push("--bind", mountText(mount));
    if (spec.cwd) argv.push("--pwd", spec.cwd);
    argv.push(...this.resourceArgs(spec.resources));
    argv.push(...spec.binArgs, spec.image, ...spec.entrypoint);
    return argv;
  }

  /**
   * The flags of a job's limits: `--cpus`, `--memory` (through cgroups) and `--nv`.
   *
   * @param resources The limits.
   * @returns The flags.
   */
  resourceArgs(resources: Resources): string[] {
    const argv: string[] = [];
    if (resources.cpus !== undefined) argv.push("--cpus", String(resources.cpus));
    if (resources.memory !== undefined) argv.push("--memory", formatMemory(resources.memory));
    if (resources.gpus !== undefined) argv.push("--nv");
    return argv;
  }

  /** Each variable as `APPTAINERENV_NAME`, which `--cleanenv` lets through. */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(Object.entries(envs).map(([k, v]) => [`APPTAINERENV_${k}`, v]));
  }

  /**
   * A URI (`docker://`, `oras://`, …) is pulled once into the SIF cache (under a lock) and
   * the SIF runs; a `.sif` or a sandbox folder must exist. The id is the SIF's SHA-256.
   */
  async resolveImage(image: string, options: PullOptions): Promise<ResolvedImage> {
    const version = await runCommand([this.bin, "--version"]);
    if (version.code !== 0) {
      throw new EngineUnavailableError(
        `The apptainer engine does not answer: ${lastLine(version.stderr)}`,
      );
    }
    if (URI.test(image)) return await pulledSif(this.bin, image, options);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(image);
    } catch {
      throw new EngineUnavailableError(
        `Image "${image}" does not exist (apptainer takes a .sif file, a sandbox folder or a URI)`,
      );
    }
    return { ref: image, id: await sifDigest(image, info, options.cacheDir) };
  }

  /**
   * Limits need cgroups: try them once; if apptainer's configuration asks systemd for
   * them and systemd is not there (a machine or container without it as init), use a copy
   * of the configuration with `systemd cgroups = no`. If limits still fail, say so.
   */
  async checkResources(resources: Resources, image: string, options: PullOptions): Promise<void> {
    if (resources.cpus === undefined && resources.memory === undefined) return;
    const probe = (config: string | null) =>
      runCommand([
        this.bin,
        "--quiet",
        ...(config ? ["-c", config] : []),
        "exec",
        "--memory",
        "64m",
        "--cpus",
        "1",
        image,
        "true",
      ]);
    let out = await probe(this.config);
    if (out.code === 0) return;
    if (/systemd cgroups manager|systemd not running/i.test(out.stderr) && !this.config) {
      const config = await cgroupsConfig(options.cacheDir);
      out = await probe(config);
      if (out.code === 0) {
        this.config = config;
        return;
      }
    }
    throw new EngineUnavailableError(
      `Apptainer cannot apply cpus/memory limits here: ${lastLine(out.stderr)}`,
    );
  }

  /** The client's pid: it leads the job's process group. */
  jobId(_name: string, pid: number): string {
    return String(pid);
  }

  /** Jobs run as the user who starts them. */
  containerUser(): string | null {
    return null;
  }

  /** SIGTERM to the job's process group. */
  kill(jid: string): Promise<void> {
    signalGroup(Number(jid), "SIGTERM");
    return Promise.resolve();
  }

  /** The container's processes belong to the script that started them: they end with it. */
  stopArgv(): null {
    return null;
  }

  /** The client's process lives, marked with the workdir. */
  isRunning(jid: string, workdir: string): Promise<boolean> {
    return Promise.resolve(isTaggedProcess(Number(jid), workdir));
  }

  /** Nothing to list: the jobs are processes this host watches directly. */
  liveJobs(): Promise<null> {
    return Promise.resolve(null);
  }

  /** No containers outlive their process: a crashed run's groups are found by their mark. */
  leftovers(): Promise<string[]> {
    return Promise.resolve([]);
  }

  /** Nothing to remove. */
  removeContainers(): Promise<void> {
    return Promise.resolve();
  }
}
