// Podman: as docker, but its `rm -f` waits 10 s for a stop unless told otherwise, it takes
// GPUs as CDI devices, a user who is not root keeps their own id in the container, and its
// conmon writes a file `oom` where the client runs when the kernel kills for memory.

import type { EngineName } from "./engine.ts";
import { OciEngine } from "./oci.ts";

/** The Podman engine. */
export class PodmanEngine extends OciEngine {
  /** `"podman"`. */
  readonly name: EngineName = "podman";

  /**
   * A user given is `--user`; otherwise root runs as root, and a user who is not root (a
   * rootless podman) keeps their own uid and gid inside (`--userns=keep-id`), which
   * `--user uid:gid` alone does not map.
   */
  override userArgs(user: string | null): string[] {
    if (user === null && this.processUid !== 0) return ["--userns=keep-id"];
    return super.userArgs(user);
  }

  /**
   * The job's metadir: conmon, which podman starts where its client runs, creates a file
   * `oom` there when a container runs out of memory, which must not land in the user's folder.
   */
  override clientCwd(metadir: string): string | null {
    return metadir;
  }

  /** CDI devices (podman 4 has no --gpus): `nvidia.com/gpu=all`, or one per GPU. */
  gpuArgs(gpus: number | "all"): string[] {
    const names = gpus === "all" ? ["all"] : Array.from({ length: gpus }, (_, i) => String(i));
    return names.flatMap((name) => ["--device", `nvidia.com/gpu=${name}`]);
  }

  /** `podman rm -f -t 0 NAME` (killed at once), or `podman kill NAME` when kept. */
  removeArgv(name: string, remove: boolean): string[] {
    return remove ? [this.bin, "rm", "-f", "-t", "0", name] : [this.bin, "kill", name];
  }
}
