// Podman: as docker, but its `rm -f` waits 10 s for a stop unless told otherwise.

import type { EngineName } from "./engine.ts";
import { OciEngine } from "./oci.ts";

/** The Podman engine. */
export class PodmanEngine extends OciEngine {
  /** `"podman"`. */
  readonly name: EngineName = "podman";

  /** `podman rm -f -t 0 NAME` (killed at once), or `podman kill NAME` when kept. */
  removeArgv(name: string, remove: boolean): string[] {
    return remove ? [this.bin, "rm", "-f", "-t", "0", name] : [this.bin, "kill", name];
  }
}
