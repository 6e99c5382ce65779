// What docker and podman share: named, labelled containers driven through their CLI, images
// pulled once, and limits as run flags.

import { join } from "@std/path/posix";
import { sha256Hex } from "../core/digest.ts";
import { EngineUnavailableError } from "../core/errors.ts";
import { withFileLock } from "../core/lock.ts";
import { runCommand } from "../core/process.ts";
import { formatMemory, type Resources } from "../core/resources.ts";
import type { Engine, EngineName, PullOptions, ResolvedImage, RunSpec } from "./engine.ts";
import { mountText } from "./mounts.ts";
import { pullWithProgress } from "./pull.ts";

/** How long a kill through the engine may take to end the client, before SIGKILL. */
const KILL_GRACE_MS = 30_000;

/**
 * The last non-empty line of an engine's message.
 *
 * @param text What the engine printed.
 * @returns The line, trimmed.
 */
export function lastLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop()?.trim() ?? "";
}

/** The common part of the docker and podman engines. */
export abstract class OciEngine implements Engine {
  /** The engine's name. */
  abstract readonly name: EngineName;
  /** The engine binary's path. */
  readonly bin: string;
  /** Containers are removed with `rm -f`; the wait is for one that was not created yet. */
  readonly killGraceMs: number = KILL_GRACE_MS;
  /** Each container is a cgroup, mounted in it at /sys/fs/cgroup/<controller>. */
  ownsCgroup(): boolean {
    return true;
  }
  /** Containers run under dockerd, or podman's conmon. */
  readonly daemonContainers = true;

  /** Where xqc runs: docker's client leaves nothing there. */
  clientCwd(_metadir: string): string | null {
    return null;
  }
  /** The uid of the process that runs xqc (decides the user flags). */
  readonly processUid: number;

  /**
   * An engine driven through a binary.
   *
   * @param bin The binary's path.
   * @param processUid The uid of the process that runs xqc.
   */
  constructor(bin: string, processUid: number = Deno.uid() ?? 0) {
    this.bin = bin;
    this.processUid = processUid;
  }

  /** The image without a `docker://` prefix. */
  imageRef(image: string): string {
    return image.replace(/^docker:\/\//, "");
  }

  /** `run [-i] [--rm] --name … --label … <user> -e NAME… -v … --workdir … <limits> IMAGE ENTRYPOINT`. */
  runArgv(spec: RunSpec): string[] {
    const argv = [this.bin, "run"];
    if (spec.interactive) argv.push("-i");
    if (spec.remove) argv.push("--rm");
    argv.push("--name", spec.name);
    for (const [key, value] of Object.entries(spec.labels)) {
      argv.push("--label", `${key}=${value}`);
    }
    argv.push(...this.userArgs(spec.user));
    // Values come from the client's environment: they stay out of argv and `ps`.
    for (const env of spec.envNames) argv.push("-e", env);
    for (const mount of spec.mounts) argv.push("-v", mountText(mount));
    if (spec.cwd) argv.push("--workdir", spec.cwd);
    argv.push(...this.resourceArgs(spec.resources));
    argv.push(...spec.binArgs, this.imageRef(spec.image), ...spec.entrypoint);
    return argv;
  }

  /**
   * The flags that run a job as a user: the one given, or the current uid:gid.
   *
   * @param user The `user` option (`null`: not given).
   * @returns The flags.
   */
  userArgs(user: string | null): string[] {
    return ["--user", user ?? `${this.processUid}:${Deno.gid() ?? 0}`];
  }

  /**
   * The flags of a job's limits.
   *
   * @param resources The limits.
   * @returns `--cpus`, `--memory` and the GPUs' flags.
   */
  resourceArgs(resources: Resources): string[] {
    const argv: string[] = [];
    if (resources.cpus !== undefined) argv.push("--cpus", String(resources.cpus));
    if (resources.memory !== undefined) argv.push("--memory", formatMemory(resources.memory));
    if (resources.gpus !== undefined) argv.push(...this.gpuArgs(resources.gpus));
    return argv;
  }

  /**
   * The flags that give a job GPUs.
   *
   * @param gpus A count, or `"all"`.
   */
  abstract gpuArgs(gpus: number | "all"): string[];

  /** The variables as they are: `-e NAME` reads them from the client's environment. */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string> {
    return { ...envs };
  }

  /** The image, pulled once (under a lock) when it is missing or the policy says always. */
  async resolveImage(image: string, options: PullOptions): Promise<ResolvedImage> {
    const ref = this.imageRef(image);
    if (options.pull !== "always") {
      const id = await this.#imageId(ref);
      if (id) return { ref, id };
    }
    if (options.pull === "never") {
      throw new EngineUnavailableError(
        `Image "${ref}" is not on this machine for ${this.name} and --pull is never (pull it: ${this.name} pull ${ref})`,
      );
    }
    const lock = join(options.cacheDir, "locks", `${this.name}-${await sha256Hex(ref)}.lock`);
    await withFileLock(lock, async () => {
      // Another run may have pulled it while this one waited for the lock.
      if (options.pull !== "always" && await this.#imageId(ref)) return;
      await pullWithProgress([this.bin, "pull", ...options.pullArgs, ref], ref, this.name, options);
    });
    const id = await this.#imageId(ref);
    if (!id) throw new EngineUnavailableError(`${this.name} pulled "${ref}" but does not have it`);
    return { ref, id };
  }

  /** docker and podman apply limits themselves. */
  checkResources(): Promise<void> {
    return Promise.resolve();
  }

  /** The container's name. */
  jobId(name: string): string {
    return name;
  }

  /** The `user` option: jobs run as that user, who may not own the workdir. */
  containerUser(user: string | null): string | null {
    return user;
  }

  /** The argv that kills a container, removing it unless it is kept. */
  abstract removeArgv(name: string, remove: boolean): string[];

  /** A container is not a process of the script that started it: stop it by name. */
  stopArgv(name: string, remove: boolean): string[] {
    return this.removeArgv(name, remove);
  }

  /** `rm -f` (or `kill` when kept). */
  async kill(jid: string, remove: boolean): Promise<void> {
    await runCommand(this.removeArgv(jid, remove), { deadlineMs: 15_000 });
  }

  /** `inspect` says the container runs; throws when the engine does not answer. */
  async isRunning(jid: string): Promise<boolean> {
    const out = await runCommand([this.bin, "inspect", "--format", "{{.State.Running}}", jid]);
    if (out.code === 0) return out.stdout.trim() === "true";
    const said = lastLine(out.stderr);
    if (/no such (container|object)|no container with name|not found/i.test(said)) return false;
    throw new Error(`${this.name} inspect ${jid} failed: ${said || `exit code ${out.code}`}`);
  }

  /** One `ps` for every running container of the run; throws when the engine does not answer. */
  async liveJobs(runId: string): Promise<Set<string>> {
    return new Set(await this.#names(`label=xqc.run=${runId}`));
  }

  /** One `ps` for the running (or created, paused) containers of the workdir. */
  leftovers(workdir: string): Promise<string[]> {
    return this.#names(`label=xqc.workdir=${workdir}`).catch(() => []);
  }

  /** `rm -f` each, at once. */
  async removeContainers(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map((name) => runCommand(this.removeArgv(name, true), { deadlineMs: 15_000 })),
    );
  }

  /** The image's id, `null` when the engine does not have it; throws when it does not answer. */
  async #imageId(ref: string): Promise<string | null> {
    const out = await runCommand([this.bin, "image", "inspect", "--format", "{{.Id}}", ref]);
    if (out.code === 0) return out.stdout.trim();
    const said = lastLine(out.stderr);
    if (/no such (image|object)|image not known|not found|unable to find/i.test(said)) return null;
    throw new EngineUnavailableError(`The ${this.name} engine does not answer: ${said}`);
  }

  async #names(filter: string): Promise<string[]> {
    // Several status filters are ORed; "exited" is not among them, so kept containers stay.
    const statuses = ["created", "running", "paused", "restarting"].flatMap((s) => [
      "--filter",
      `status=${s}`,
    ]);
    const out = await runCommand([
      this.bin,
      "ps",
      "-a",
      "--filter",
      filter,
      ...statuses,
      "--format",
      "{{.Names}}",
    ]);
    if (out.code !== 0) {
      throw new Error(`${this.name} ps failed: ${lastLine(out.stderr) || `exit code ${out.code}`}`);
    }
    return out.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
  }
}
