// What a run of a workdir left running after it was killed with -9: found and stopped.

import { engineOf, ENGINES } from "./engine.ts";
import { findTaggedGroups, runCommand, signalGroup } from "./process.ts";

/**
 * Stop what earlier runs of a workdir left running: the process groups they started
 * (marked in their environment), and, given the engine binary, the containers labelled
 * with the workdir.
 *
 * @param workdir The workdir, absolute.
 * @param bin The engine binary, for container runs; `null` otherwise.
 * @param listed The containers, when they were listed already.
 * @returns What was stopped: `container NAME` and `process group PID` items.
 */
export async function reapLeftovers(
  workdir: string,
  bin: string | null,
  listed?: Promise<string[]>,
): Promise<string[]> {
  // The clients first, so that none starts another container; then what the daemon runs.
  const groups = await findTaggedGroups(workdir);
  for (const pid of groups) signalGroup(pid, "SIGKILL");
  let names: string[] = [];
  if (bin) {
    const engine = ENGINES[engineOf(bin)];
    names = await (listed ?? engine.listByWorkdir(bin, workdir));
    await Promise.all(names.map((name) => runCommand(engine.removeArgv(bin, name, true))));
  }
  return [
    ...names.map((name) => `container ${name}`),
    ...groups.map((pid) => `process group ${pid}`),
  ];
}
