// Docker: named containers, removed with `docker rm -f`; GPUs with --gpus.

import type { EngineName } from "./engine.ts";
import { OciEngine } from "./oci.ts";

/** The Docker engine. */
export class DockerEngine extends OciEngine {
  /** `"docker"`. */
  readonly name: EngineName = "docker";

  /** `--gpus all` or `--gpus N` (the NVIDIA container toolkit). */
  gpuArgs(gpus: number | "all"): string[] {
    return ["--gpus", String(gpus)];
  }

  /** `docker rm -f NAME`, or `docker kill NAME` for a container that is kept. */
  removeArgv(name: string, remove: boolean): string[] {
    return remove ? [this.bin, "rm", "-f", name] : [this.bin, "kill", name];
  }
}
