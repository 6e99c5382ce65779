// Apptainer (and Singularity): jobs are processes of this host, in their own process group.

import { EngineUnavailableError } from "../core/errors.ts";
import { isTaggedProcess, runCommand, signalGroup } from "../core/process.ts";
import type { Engine, EngineName, RunSpec } from "./engine.ts";
import { mountText } from "./mounts.ts";
import { lastLine } from "./oci.ts";

const URI = /^[a-z]+:\/\//;

/** The Apptainer engine. */
export class ApptainerEngine implements Engine {
  /** `"apptainer"`. */
  readonly name: EngineName = "apptainer";
  /** The binary's path. */
  readonly bin: string;
  /** A killed job's group gets SIGTERM, then SIGKILL after this long. */
  readonly killGraceMs = 3000;

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

  /** `--quiet exec --bind … --pwd … IMAGE ENTRYPOINT`. */
  runArgv(spec: RunSpec): string[] {
    const argv = [this.bin, "--quiet", "exec"];
    for (const mount of spec.mounts) argv.push("--bind", mountText(mount));
    if (spec.cwd) argv.push("--pwd", spec.cwd);
    argv.push(...spec.binArgs, spec.image, ...spec.entrypoint);
    return argv;
  }

  /**
   * The variables as they are: apptainer passes the client's environment into the
   * container, while its APPTAINERENV_* and --env values go through a shell that runs any
   * `$(...)` in them.
   */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string> {
    return { ...envs };
  }

  /** The engine answers and the image exists (a URI is taken as it is). */
  async checkImage(image: string): Promise<string> {
    const version = await runCommand([this.bin, "--version"]);
    if (version.code !== 0) {
      throw new EngineUnavailableError(
        `The apptainer engine does not answer: ${lastLine(version.stderr)}`,
      );
    }
    if (URI.test(image)) return image;
    try {
      await Deno.stat(image);
    } catch {
      throw new EngineUnavailableError(
        `Image "${image}" does not exist (apptainer takes a .sif file, a sandbox folder or a URI)`,
      );
    }
    return image;
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
