// What docker and podman share: named, labelled containers driven through their CLI.

import { EngineUnavailableError } from "../core/errors.ts";
import { runCommand } from "../core/process.ts";
import type { Engine, EngineName, RunSpec } from "./engine.ts";
import { mountText } from "./mounts.ts";

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

  /**
   * An engine driven through a binary.
   *
   * @param bin The binary's path.
   */
  constructor(bin: string) {
    this.bin = bin;
  }

  /** The image without a `docker://` prefix. */
  imageRef(image: string): string {
    return image.replace(/^docker:\/\//, "");
  }

  /** `run [--rm] --name … --label … --user … -e NAME… -v … --workdir … IMAGE ENTRYPOINT`. */
  runArgv(spec: RunSpec): string[] {
    const argv = [this.bin, "run"];
    if (spec.remove) argv.push("--rm");
    argv.push("--name", spec.name);
    for (const [key, value] of Object.entries(spec.labels)) {
      argv.push("--label", `${key}=${value}`);
    }
    if (spec.user) argv.push("--user", spec.user);
    // Values come from the client's environment: they stay out of argv and `ps`.
    for (const env of spec.envNames) argv.push("-e", env);
    for (const mount of spec.mounts) argv.push("-v", mountText(mount));
    if (spec.cwd) argv.push("--workdir", spec.cwd);
    argv.push(...spec.binArgs, this.imageRef(spec.image), ...spec.entrypoint);
    return argv;
  }

  /** The variables as they are: `-e NAME` reads them from the client's environment. */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string> {
    return { ...envs };
  }

  /** `image inspect`: the image's id, or exit 3 naming what is missing. */
  async checkImage(image: string): Promise<string> {
    const ref = this.imageRef(image);
    const out = await runCommand([this.bin, "image", "inspect", "--format", "{{.Id}}", ref]);
    if (out.code === 0) return out.stdout.trim();
    const said = lastLine(out.stderr);
    if (/no such (image|object)|image not known|not found|unable to find/i.test(said)) {
      throw new EngineUnavailableError(
        `Image "${ref}" is not on this machine for ${this.name} (pull or load it first: ${this.name} pull ${ref})`,
      );
    }
    throw new EngineUnavailableError(`The ${this.name} engine does not answer: ${said}`);
  }

  /** The container's name. */
  jobId(name: string): string {
    return name;
  }

  /** The `user` option: jobs run as that user, who may not own the workdir. */
  containerUser(user: string): string | null {
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

  /** `inspect` says the container runs. */
  async isRunning(jid: string): Promise<boolean> {
    const out = await runCommand([this.bin, "inspect", "--format", "{{.State.Running}}", jid]);
    return out.code === 0 && out.stdout.trim() === "true";
  }

  /** One `ps` for every running container of the run. */
  async liveJobs(runId: string): Promise<Set<string>> {
    return new Set(await this.#names(`label=xqc.run=${runId}`));
  }

  /** One `ps` for the running (or created, paused) containers of the workdir. */
  leftovers(workdir: string): Promise<string[]> {
    return this.#names(`label=xqc.workdir=${workdir}`);
  }

  /** `rm -f` each, at once. */
  async removeContainers(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map((name) => runCommand(this.removeArgv(name, true), { deadlineMs: 15_000 })),
    );
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
    return out.code === 0 ? out.stdout.split("\n").map((s) => s.trim()).filter(Boolean) : [];
  }
}
