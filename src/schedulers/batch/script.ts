// The scripts a batch system runs: one per job, which starts its wrapper (in its container)
// and stops the container when the system stops the job, and one per array, which runs a
// task's job script.

import { shellJoin, shellQuote } from "../../core/shell.ts";

/** What a job's batch script is made of. */
export interface BatchScriptParts {
  /** The job's index. */
  index: number;
  /** The trial, from 1. */
  trial: number;
  /** The workdir on the host. */
  workdir: string;
  /** The option lines (`#SBATCH …`, `#$ …`). */
  options: readonly string[];
  /** Bash that is true when the system starts the job again (a requeue). */
  restarted: string;
  /** The signals the system stops a job with, trapped. */
  signals: readonly string[];
  /** The file a trapped signal writes its name to: the job was stopped from outside. */
  stopped: string;
  /** The argv that runs the job's wrapper (the engine command and the wrapper's path). */
  launch: readonly string[];
  /** Where the engine's client runs, when not where the system starts the script. */
  launchCwd: string | null;
  /** The argv that stops the job's container by name, when its engine names containers. */
  stop: readonly string[] | null;
  /** The file of the job's variables (mode 0600), when it has any. */
  envFile: string | null;
  /** The files of a start, removed when the system starts the job again (a requeue). */
  startFiles: readonly string[];
}

/**
 * A job's variables as a file its batch script sources: one `export` line each.
 *
 * @param envs The variables (names checked to be shell names).
 * @returns The file's text.
 * @example
 * ```ts
 * import { envFileText } from "./script.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(envFileText({ A: "a b" }), "export A='a b'\n");
 * ```
 */
export function envFileText(envs: Readonly<Record<string, string>>): string {
  return Object.entries(envs).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

/**
 * A job's script. The wrapper runs in the background so that the shell can take the
 * system's signal (Slurm's SIGTERM on scancel or a time limit, Grid Engine's SIGUSR2 before
 * a qdel's SIGKILL) at once: it writes the signal's name to `stopped`, stops the container
 * through the engine (a docker container is not a process of the job, and would outlive
 * it) and passes SIGTERM on to the wrapper.
 *
 * @param parts The pieces.
 * @returns Bash.
 * @example
 * ```ts
 * import { renderBatchScript } from "./script.ts";
 * import { assertStringIncludes } from "@std/assert";
 * const text = renderBatchScript({
 *   index: 0, trial: 1, workdir: "/w", options: ["#SBATCH --partition=debug"],
 *   restarted: "false", signals: ["TERM"], stopped: "/w/0/job.stopped",
 *   launch: ["docker", "run", "--name", "xqc-1-0-1", "img", "/bin/bash", "/w/0/job.wrapped"],
 *   launchCwd: null,
 *   stop: ["docker", "rm", "-f", "xqc-1-0-1"], envFile: null, startFiles: ["/w/0/job.rc"],
 * });
 * assertStringIncludes(text, "docker rm -f xqc-1-0-1");
 * ```
 */
export function renderBatchScript(parts: BatchScriptParts): string {
  const stop = parts.stop ? `  ${shellJoin(parts.stop)} >/dev/null 2>&1\n` : "";
  const signals = parts.signals.join(" ");
  const traps = parts.signals.map((signal) => `trap 'xqc_stop ${signal}' ${signal}`).join("\n");
  return `#!/bin/bash
${parts.options.join("\n")}
# Job ${parts.index}, trial ${parts.trial} of ${parts.workdir}: written by @xq/container.
xqc_child=
xqc_stop() {
  trap '' ${signals}
  echo "$1" >${shellQuote(parts.stopped)}
${stop}  [ -n "$xqc_child" ] && kill -TERM "$xqc_child" 2>/dev/null
}
${traps}
${parts.envFile ? `. ${shellQuote(parts.envFile)}` : "# no variables of its own"}
# A job started again (a requeue after a node failed): its last start's files go first.
${parts.restarted} && rm -f -- ${shellJoin(parts.startFiles)} ${shellQuote(parts.stopped)}
${parts.launchCwd ? `cd ${shellQuote(parts.launchCwd)} || exit 1\n` : ""}${
    shellJoin(parts.launch)
  } </dev/null &
xqc_child=$!
wait "$xqc_child"; xqc_rc=$?
# A trapped signal interrupts wait: wait again until the wrapper has ended.
while kill -0 "$xqc_child" 2>/dev/null; do wait "$xqc_child"; xqc_rc=$?; done
exit "$xqc_rc"
`;
}

/** What an array's script is made of. */
export interface ArrayScriptParts {
  /** The option lines (the array's among them). */
  options: readonly string[];
  /** The variable that holds the task's number, and the first task's number. */
  task: { variable: string; first: number };
  /** The job scripts' name in a metadir. */
  script: string;
  /** The workdir on the host. */
  workdir: string;
  /** The jobs' metadirs' names, in task order (task `i` runs the job in `dirs[i]`). */
  dirs: readonly string[];
}

/**
 * An array's script: task `i` (from the first task's number) runs the job script in
 * metadir `dirs[i]`, with its output in that job's metadir.
 *
 * @param parts The pieces.
 * @returns Bash.
 */
export function renderArrayScript(parts: ArrayScriptParts): string {
  const workdir = shellQuote(parts.workdir);
  const { variable, first } = parts.task;
  return `#!/bin/bash
${parts.options.join("\n")}
# A job array of ${parts.workdir}: written by @xq/container.
xqc_jobs=(${parts.dirs.join(" ")})
xqc_meta=${workdir}/"\${xqc_jobs[$((${variable} - ${first}))]}"
exec bash "$xqc_meta/${parts.script}" >>"$xqc_meta/${parts.script}.out" 2>&1
`;
}
