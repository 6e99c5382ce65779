// The batch scripts Slurm runs: one per job, which starts its wrapper (in its container)
// and stops the container when Slurm stops the job, and one per array, which runs a task's
// job script.

import { shellJoin, shellQuote } from "../core/shell.ts";

/** What a job's batch script is made of. */
export interface BatchScriptParts {
  /** The job's index. */
  index: number;
  /** The trial, from 1. */
  trial: number;
  /** The workdir on the host. */
  workdir: string;
  /** The `#SBATCH` lines. */
  sbatch: readonly string[];
  /** The argv that runs the job's wrapper (the engine command and the wrapper's path). */
  launch: readonly string[];
  /** The argv that stops the job's container by name, when its engine names containers. */
  stop: readonly string[] | null;
  /** The file of the job's variables (mode 0600), when it has any. */
  envFile: string | null;
  /** The files of a start, removed when Slurm starts the job again (a requeue). */
  startFiles: readonly string[];
}

/**
 * A job's variables as a file its batch script sources: one `export` line each.
 *
 * @param envs The variables (names checked to be shell names).
 * @returns The file's text.
 * @example
 * ```ts
 * import { envFileText } from "./slurm_script.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(envFileText({ A: "a b" }), "export A='a b'\n");
 * ```
 */
export function envFileText(envs: Readonly<Record<string, string>>): string {
  return Object.entries(envs).map(([name, value]) => `export ${name}=${shellQuote(value)}\n`)
    .join("");
}

/**
 * A job's batch script. The wrapper runs in the background so that the shell can take
 * Slurm's SIGTERM (scancel, a time limit) at once: it then stops the container through the
 * engine (a docker container is not a process of the job, and would outlive it) and passes
 * the signal on to the wrapper.
 *
 * @param parts The pieces.
 * @returns Bash.
 * @example
 * ```ts
 * import { renderBatchScript } from "./slurm_script.ts";
 * import { assertStringIncludes } from "@std/assert";
 * const text = renderBatchScript({
 *   index: 0, trial: 1, workdir: "/w", sbatch: ["#SBATCH --partition=debug"],
 *   launch: ["docker", "run", "--name", "xqc-1-0-1", "img", "/bin/bash", "/w/0/job.wrapped"],
 *   stop: ["docker", "rm", "-f", "xqc-1-0-1"], envFile: null, startFiles: ["/w/0/job.rc"],
 * });
 * assertStringIncludes(text, "docker rm -f xqc-1-0-1");
 * ```
 */
export function renderBatchScript(parts: BatchScriptParts): string {
  const stop = parts.stop ? `  ${shellJoin(parts.stop)} >/dev/null 2>&1\n` : "";
  return `#!/bin/bash
${parts.sbatch.join("\n")}
# Job ${parts.index}, trial ${parts.trial} of ${parts.workdir}: written by @xq/container.
xqc_child=
xqc_stop() {
  trap '' TERM INT HUP
${stop}  [ -n "$xqc_child" ] && kill -TERM "$xqc_child" 2>/dev/null
}
trap xqc_stop TERM INT HUP
${parts.envFile ? `. ${shellQuote(parts.envFile)}` : "# no variables of its own"}
# Slurm starts a requeued job again (a node failed): its last start's files go first.
[ "\${SLURM_RESTART_COUNT:-0}" -gt 0 ] && rm -f -- ${shellJoin(parts.startFiles)}
${shellJoin(parts.launch)} </dev/null &
xqc_child=$!
wait "$xqc_child"; xqc_rc=$?
# A trapped signal interrupts wait: wait again until the wrapper has ended.
while kill -0 "$xqc_child" 2>/dev/null; do wait "$xqc_child"; xqc_rc=$?; done
exit "$xqc_rc"
`;
}

/** What an array's batch script is made of. */
export interface ArrayScriptParts {
  /** The `#SBATCH` lines (the `--array` line among them). */
  sbatch: readonly string[];
  /** The workdir on the host. */
  workdir: string;
  /** The jobs' metadirs' names, in task order (task `i` runs the job in `dirs[i]`). */
  dirs: readonly string[];
}

/**
 * An array's batch script: task `i` runs the batch script in metadir `dirs[i]`, with its
 * output in that job's metadir.
 *
 * @param parts The pieces.
 * @returns Bash.
 */
export function renderArrayScript(parts: ArrayScriptParts): string {
  const workdir = shellQuote(parts.workdir);
  return `#!/bin/bash
${parts.sbatch.join("\n")}
# A job array of ${parts.workdir}: written by @xq/container.
xqc_jobs=(${parts.dirs.join(" ")})
xqc_meta=${workdir}/"\${xqc_jobs[$SLURM_ARRAY_TASK_ID]}"
exec bash "$xqc_meta/job.sbatch" >>"$xqc_meta/job.sbatch.out" 2>&1
`;
}
