// A job in a pool container: the file its agent sources, which says how to run the job and
// how to end it. The agent itself waits for the job and ends it (see agent.ts).

import { AGENT_FD } from "./agent.ts";
import { cgroupJoin, usageBase, usageFunction } from "./cgroup_script.ts";
import { shellQuote } from "./shell.ts";
import { commandWords, indent, jobVariables, section, type WrapperParts } from "./wrapper.ts";

/**
 * Render the file a pool's agent sources for a job. Sourced, it sets the job's variables
 * and reads what its usage counts from (in the agent, right before the job starts), and
 * defines:
 *
 * - `xqc_job`, run in the job's own process (a subshell of the agent that leads a process
 *   group of its own): it joins the trial's cgroup when the run made one, runs the set-up,
 *   writes RUNNING (4) to `job.status`, reports `start ID PGID` on the agent's channel, runs
 *   the prescript and the plugins' snippets, and then becomes the command (`exec`), its
 *   stdout and stderr in `job.stdout` and `job.stderr`;
 * - `xqc_usage`, which the agent runs once the job has ended;
 * - `xqc_after`, when the job has a postscript or plugins' end snippets: run by the agent
 *   in a subshell, with the job's variables, after `job.rc` is written.
 *
 * @param parts The pieces of the job (the shebang is not used).
 * @returns Bash.
 * @example
 * ```ts
 * import { renderPoolJob } from "./pool_job.ts";
 * import { assertStringIncludes } from "@std/assert";
 * const text = renderPoolJob({
 *   shebang: "", index: 0, trial: 1,
 *   mountedWorkdir: "/w", mountedMetadir: "/w/0", cmd: ["ls", "/data"],
 * });
 * assertStringIncludes(text, "xqc_cmd=(ls /data)");
 * ```
 */
export function renderPoolJob(parts: WrapperParts): string {
  const measure = parts.measure ?? { kind: "none" };
  const after = [parts.postscript, parts.end].some((code) => code?.trim());
  return `# Job ${parts.index}, trial ${parts.trial}: written by @xq/container, for a pool's agent.
${jobVariables(parts)}
${
    measure.kind === "join"
      ? `# The agent reads the usage of the cgroup the job joins.\nxqc_cgroup_dirs=(${
        measure.dirs.map(shellQuote).join(" ")
      })`
      : "# usage: read where the agent is"
  }
xqc_enter() {
  :
${indent(section("scheduler set-up", parts.wrapperInit))}
}
xqc_job() {
${indent(cgroupJoin(measure))}
  xqc_enter
  echo 4 >"$xqc_meta/job.status"
${indent(section("plugins: onJobcmdInit", parts.init))}
  echo "start $xqc_pool_id $BASHPID" >&${AGENT_FD}
${indent(section("prescript", parts.prescript))}
  xqc_cmd=(${commandWords(parts.cmd)})
${indent(section("plugins: onJobcmdPrep", parts.prep))}
  ${runCommand(parts)} >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null ${AGENT_FD}>&-
}
${usageFunction(measure)}
${
    after
      ? `xqc_after() {
  xqc_enter
${indent(section("postscript", parts.postscript))}
${indent(section("plugins: onJobcmdEnd", parts.end))}
}`
      : "# postscript and plugins' end snippets: none"
  }
xqc_start=$EPOCHREALTIME
${parts.memoryLimit ? "xqc_oom_kills; xqc_oom_before=$xqc_oom" : "# memory limit: none"}
${usageBase(measure)}
`;
}

/**
 * Bash's builtins: an argv that names one runs it, in a wrapper as in a pool (`echo` is
 * bash's, whichever way a job runs).
 */
const BASH_BUILTINS = new Set(
  (". : [ alias bg bind break builtin caller cd command compgen complete compopt continue " +
    "declare dirs disown echo enable eval exec exit export false fc fg getopts hash help " +
    "history jobs kill let local logout mapfile popd printf pushd pwd read readarray " +
    "readonly return set shift shopt source suspend test times trap true type typeset " +
    "ulimit umask unalias unset wait").split(" "),
);

function runCommand(parts: WrapperParts): string {
  // The job's process becomes the command; a builtin has no program to become: it runs in
  // the job's process, which ends with it (the last command of the subshell).
  const builtin = typeof parts.cmd !== "string" && BASH_BUILTINS.has(parts.cmd[0]);
  return builtin ? '"\${xqc_cmd[@]}"' : 'exec "\${xqc_cmd[@]}"';
}
