// A job in a pool container: the file its agent sources, which says how to run the job and
// how to end it. The agent itself forks the job, waits for it and ends it (see agent.ts).

import { cgroupJoin, type Measure, usageBase, usageFunction } from "./cgroup_script.ts";
import { shellQuote } from "./shell.ts";
import { commandWords, indent, jobVariables, section, type WrapperParts } from "./wrapper.ts";

/**
 * Render the file a pool's agent sources for a job, in the agent, right before the job
 * starts. It sets the job's variables, its command (`xqc_cmd`) and how it runs: `xqc_exec`
 * is 1 when the job's process becomes the command (a program) and empty when the command
 * runs in that process (a bash builtin). It defines `xqc_usage`, which the agent runs once
 * the job has ended, and reads where the job's CPU time counts from. Of the hooks, it
 * defines only those the job has, and names them in `xqc_hooks`:
 *
 * - `xqc_before`, run in the job's process before the command: it joins the trial's cgroup
 *   when the run made one, and runs the set-up, the plugins' init snippets, the prescript
 *   and the plugins' prep snippets (which may change `xqc_cmd`);
 * - `xqc_after`, when the job has a postscript or plugins' end snippets: run by the agent
 *   in a subshell, with the job's variables, after `job.rc` is written.
 *
 * Its last line sets `xqc_loaded`: a file cut short does not run.
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
  const setUp = section("scheduler set-up", parts.wrapperInit);
  const before = measure.kind === "join" ||
    [parts.wrapperInit, parts.init, parts.prescript, parts.prep].some((code) => code?.trim());
  const after = [parts.postscript, parts.end].some((code) => code?.trim());
  const hooks = [before ? "before" : "", after ? "after" : ""].filter(Boolean).join(" ");
  return `# Job ${parts.index}, trial ${parts.trial}: written by @xq/container, for a pool's agent.
${jobVariables(parts)}
xqc_cmd=(${commandWords(parts.cmd)})
# 1: the job's process becomes the command; empty: a builtin, run in that process.
xqc_exec=${runsAsBuiltin(parts) ? "" : "1"}
${measureLines(parts, measure)}
${
    before
      ? `xqc_before() {
${indent(cgroupJoin(measure))}
${indent(setUp)}
${section("plugins: onJobcmdInit", parts.init)}
${section("prescript", parts.prescript)}
${section("plugins: onJobcmdPrep", parts.prep)}
}`
      : "# set-up, plugins' snippets and prescript: none"
  }
${
    after
      ? `xqc_after() {
${indent(setUp)}
${section("postscript", parts.postscript)}
${section("plugins: onJobcmdEnd", parts.end)}
}`
      : "# postscript and plugins' end snippets: none"
  }
xqc_hooks=${shellQuote(hooks)}
xqc_loaded=1
`;
}

function measureLines(parts: WrapperParts, measure: Measure): string {
  return `${
    measure.kind === "join"
      ? `# The agent reads the usage of the cgroup the job joins.\nxqc_cgroup_dirs=(${
        measure.dirs.map(shellQuote).join(" ")
      })`
      : "# usage: read where the agent is"
  }
${usageFunction(measure)}
xqc_start=$EPOCHREALTIME
${parts.memoryLimit ? "xqc_oom_kills; xqc_oom_before=$xqc_oom" : "# memory limit: none"}
${usageBase(measure)}`;
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

function runsAsBuiltin(parts: WrapperParts): boolean {
  // The job's process becomes the command; a builtin has no program to become: it runs in
  // the job's process, which ends with it.
  return typeof parts.cmd !== "string" && BASH_BUILTINS.has(parts.cmd[0]);
}
