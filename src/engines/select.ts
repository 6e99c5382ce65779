// Choosing the engine from its binary: the one place that knows every engine.

import { basename } from "@std/path/posix";
import { EngineUnavailableError } from "../core/errors.ts";
import { findOnPath } from "../core/which.ts";
import { ApptainerEngine } from "./apptainer.ts";
import { DockerEngine } from "./docker.ts";
import type { Engine, EngineName } from "./engine.ts";
import { PodmanEngine } from "./podman.ts";

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
 * import { engineOf } from "./select.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(engineOf("/usr/local/bin/singularity"), "apptainer");
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

/**
 * The engine behind a binary, found on PATH.
 *
 * @param bin A name on PATH or a path.
 * @returns The engine.
 * @throws {TypeError} When the binary's name is no engine's.
 * @throws {EngineUnavailableError} When it is not on PATH.
 */
export function engineFor(bin: string): Engine {
  const name = engineOf(bin);
  const path = findOnPath(bin);
  if (!path) throw new EngineUnavailableError(`Engine binary "${bin}" is not on PATH`);
  switch (name) {
    case "docker":
      return new DockerEngine(path);
    case "podman":
      return new PodmanEngine(path);
    case "apptainer":
      return new ApptainerEngine(path);
  }
}
