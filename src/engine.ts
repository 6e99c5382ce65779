// The container engines: how each builds its `run` argv, passes envs, checks its image,
// kills a job and finds a crashed run's containers. Every engine difference lives here.

import { basename } from "@std/path";
import { EngineUnavailableError } from "./errors.ts";
import type { Mount } from "./mounts.ts";
import { runCommand } from "./process.ts";

/** The engines, by the name their binary's basename gives. */
export type EngineName = "docker" | "podman" | "apptainer";

/** Everything an engine needs to start one job. */
export interface RunSpec {
  /** The engine binary. */
  bin: string;
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
  /** `--rm` (docker/podman). */
  remove: boolean;
  /** `--user` (docker/podman). */
  user: string;
  /** The container's name (docker/podman). */
  name: string;
  /** Labels (docker/podman). */
  labels: Readonly<Record<string, string>>;
}

/** One engine's behaviour. */
export interface Engine {
  /** Its name. */
  readonly name: EngineName;
  /** Whether it names containers (and so kills them by name). */
  readonly namesContainers: boolean;
  /** Whether it runs jobs as another user (`--user`), who may need their metadir. */
  readonly takesUser: boolean;
  /** The image as this engine wants it. */
  imageRef(image: string): string;
  /** The argv that runs a job, up to the entrypoint. */
  runArgv(spec: RunSpec): string[];
  /** The client's environment for a job's variables. */
  clientEnv(envs: Readonly<Record<string, string>>): Record<string, string>;
  /** Check that the engine answers and has the image; throws what is missing. */
  checkImage(bin: string, image: string): Promise<void>;
  /** Remove a container by name, killing it if it runs. */
  removeArgv(bin: string, name: string, remove: boolean): string[];
  /** Names of the containers labelled with a workdir. */
  listByWorkdir(bin: string, workdir: string): Promise<string[]>;
}

const ENGINE_OF_BASENAME: Record<string, EngineName> = {
  docker: "docker",
  podman: "podman",
  apptainer: "apptainer",
  singularity: "apptainer",
};

/**
 * Tell the engine from a binary's name.
 *
 * @param bin A name or path such as `/usr/bin/podman`.
 * @returns The engine.
 * @throws {TypeError} For a binary that is none of docker, podman, apptainer, singularity.
 * @example
 * ```ts
 * import { engineOf } from "@xq/container";
 * console.log(engineOf("/usr/local/bin/singularity")); // "apptainer"
 * ```
 */
export function engineOf(bin: string): EngineName {
  const name = basename(bin).toLowerCase().replace(/\.exe$/, "");
  const engine = ENGINE_OF_BASENAME[name] ??
    Object.entries(ENGINE_OF_BASENAME).find(([key]) => name.startsWith(key))?.[1];
  if (!engine) {
    throw new TypeError(
      `Cannot tell the engine of "${bin}" (its name must be docker, podman, apptainer or singularity)`,
    );
  }
  return engine;
}

function mountText(mount: Mount): string {
  return mount.options
    ? `${mount.host}:${mount.container}:${mount.options}`
    : `${mount.host}:${mount.container}`;
}

function firstLine(text: string): string {
  return text.trim().split("\n").filter(Boolean).pop()?.trim() ?? "";
}

function ociEngine(name: "docker" | "podman"): Engine {
  return {
    name,
    namesContainers: true,
    takesUser: true,
    imageRef: (image) => image.replace(/^docker:\/\//, ""),
    runArgv(spec) {
      const argv = [spec.bin, "run"];
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
    },
    clientEnv: (envs) => ({ ...envs }),
    async checkImage(bin, image) {
      const ref = this.imageRef(image);
      const out = await runCommand([bin, "image", "inspect", "--format", "{{.Id}}", ref]);
      if (out.code === 0) return;
      const said = firstLine(out.stderr);
      if (/no such (image|object)|image not known|not found|unable to find/i.test(said)) {
        throw new EngineUnavailableError(
          `Image "${ref}" is not on this machine for ${name} (pull or load it first: ${name} pull ${ref})`,
        );
      }
      throw new EngineUnavailableError(`The ${name} engine does not answer: ${said}`);
    },
    removeArgv(bin, container, remove) {
      if (!remove) return [bin, "kill", container];
      // podman's rm -f waits 10 s for a stop by default; the job is killed at once instead.
      return name === "podman"
        ? [bin, "rm", "-f", "-t", "0", container]
        : [bin, "rm", "-f", container];
    },
    async listByWorkdir(bin, workdir) {
      const out = await runCommand([
        bin,
        "ps",
        "-a",
        "--filter",
        `label=xqc.workdir=${workdir}`,
        "--format",
        "{{.Names}}",
      ]);
      return out.code === 0 ? out.stdout.split("\n").map((s) => s.trim()).filter(Boolean) : [];
    },
  };
}

const URI = /^[a-z]+:\/\//;

const apptainer: Engine = {
  name: "apptainer",
  namesContainers: false,
  // Apptainer runs jobs as the user who starts them.
  takesUser: false,
  imageRef: (image) => image,
  runArgv(spec) {
    const argv = [spec.bin, "--quiet", "exec"];
    for (const mount of spec.mounts) argv.push("--bind", mountText(mount));
    if (spec.cwd) argv.push("--pwd", spec.cwd);
    argv.push(...spec.binArgs, spec.image, ...spec.entrypoint);
    return argv;
  },
  // Apptainer passes the client's environment into the container as it is, while its
  // APPTAINERENV_* and --env values go through a shell that runs any $(...) in them.
  clientEnv: (envs) => ({ ...envs }),
  async checkImage(bin, image) {
    const version = await runCommand([bin, "--version"]);
    if (version.code !== 0) {
      throw new EngineUnavailableError(
        `The apptainer engine does not answer: ${firstLine(version.stderr)}`,
      );
    }
    if (URI.test(image)) return;
    try {
      await Deno.stat(image);
    } catch {
      throw new EngineUnavailableError(
        `Image "${image}" does not exist (apptainer takes a .sif file, a sandbox folder or a URI)`,
      );
    }
  },
  removeArgv: () => [],
  listByWorkdir: () => Promise.resolve([]),
};

/** The engines by name. */
export const ENGINES: Readonly<Record<EngineName, Engine>> = {
  docker: ociEngine("docker"),
  podman: ociEngine("podman"),
  apptainer,
};

/**
 * Find a program on PATH, as a shell would.
 *
 * @param bin A name, or a path (returned when it is an executable file).
 * @returns Its path, or `null` when there is none.
 */
export function findOnPath(bin: string): string | null {
  const isExecutable = (path: string) => {
    try {
      const info = Deno.statSync(path);
      return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (bin.includes("/")) return isExecutable(bin) ? bin : null;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && isExecutable(`${dir}/${bin}`)) return `${dir}/${bin}`;
  }
  return null;
}
