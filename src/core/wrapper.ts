// The bash wrapper every job runs in: one template, rendered by a pure function.

import { cgroupFunctions, cgroupJoin, type Measure, usageFunction } from "./cgroup_script.ts";
import { AGENT_FD } from "./agent.ts";
import { shellJoin, shellQuote } from "./shell.ts";
import type { JobCommand } from "./job.ts";

/** The line the wrapper prints on its own stdout once the job runs. */
export const RUNNING_MARKER = "XQC-JOB-RUNNING";

/** What a wrapper is made of. */
export interface WrapperParts {
  /** The interpreter line, without `#!`. */
  shebang: string;
  /** The job's index. */
  index: number;
  /** The trial, from 1. */
  trial: number;
  /** The workdir as the job sees it. */
  mountedWorkdir: string;
  /** The job's metadir as the job sees it. */
  mountedMetadir: string;
  /** The command. */
  cmd: JobCommand;
  /** Bash run first: the scheduler's set-up (such as `cd` to the cwd). */
  wrapperInit?: string;
  /** Bash run before the command is prepared (plugins' onJobcmdInit). */
  init?: string;
  /** The scheduler's prescript. */
  prescript?: string;
  /** Bash run right before the command (plugins' onJobcmdPrep). */
  prep?: string;
  /** The scheduler's postscript, run after the rc is written. */
  postscript?: string;
  /** Bash run last (plugins' onJobcmdEnd). */
  end?: string;
  /** Seconds after which the command is stopped with rc 124; 0 for none. */
  timeout?: number;
  /**
   * The trial's memory limit as people write it (`256m`), when it has one: the wrapper then
   * tells an OOM kill in the job apart (rc 137, `job.oom`, a line in `job.stderr`).
   */
  memoryLimit?: string;
  /** How the job's usage is measured (default: no cgroup of its own). */
  measure?: Measure;
  /**
   * The wrapper is sourced by a pool's agent (in a subshell that leads the job's process
   * group) rather than run: it reports `start ID` and `end ID RC` on the agent's channel
   * instead of printing the running marker, and ends what its job left in its group.
   */
  pooled?: boolean;
}

/**
 * Render a job's bash wrapper. It writes RUNNING (4) to `job.status`, runs the command
 * with its stdout and stderr in `job.stdout` and `job.stderr`, and from an EXIT trap
 * writes `job.rc` and FINISHED (6) or FAILED (7), explaining rc 124, 126, 127 and 137 in
 * `job.stderr`. With a timeout the command runs in its own process group, which the
 * timeout, stop signals (HUP, INT, TERM) and the command's end take whole; without one it
 * runs in the foreground, in the wrapper's group, which the scheduler takes whole. It needs
 * only bash (and `sleep` and `kill` when a timeout is set).
 *
 * @param parts The pieces of the wrapper.
 * @returns The wrapper's text.
 * @example
 * ```ts
 * import { renderWrapper } from "./wrapper.ts";
 * import { assertStringIncludes } from "@std/assert";
 * const text = renderWrapper({
 *   shebang: "/usr/bin/env bash", index: 0, trial: 1,
 *   mountedWorkdir: "/w", mountedMetadir: "/w/0", cmd: ["echo", "hi"],
 * });
 * assertStringIncludes(text, "echo hi");
 * ```
 */
export function renderWrapper(parts: WrapperParts): string {
  const cmd = typeof parts.cmd === "string"
    ? `"$BASH" -c ${shellQuote(parts.cmd)}`
    : shellJoin(parts.cmd);
  const program = typeof parts.cmd === "string" ? "bash -c" : parts.cmd[0];
  const timeout = parts.timeout && parts.timeout > 0 ? parts.timeout : 0;
  const measure = parts.measure ?? { kind: "none" };
  return `#!${parts.shebang}
# Job ${parts.index}, trial ${parts.trial}: written by @xq/container.
${cgroupJoin(measure)}
xqc_start=$EPOCHREALTIME
xqc_self=$BASHPID
export XQUTE_JOB_INDEX=${parts.index}
export XQUTE_METADIR=${shellQuote(parts.mountedWorkdir)}
export XQUTE_JOB_METADIR=${shellQuote(parts.mountedMetadir)}
xqc_meta=$XQUTE_JOB_METADIR
${section("scheduler set-up", parts.wrapperInit)}
echo 4 >"$xqc_meta/job.status"
${parts.pooled ? "# the start is reported once the traps are set" : `echo ${RUNNING_MARKER}`}
${section("plugins: onJobcmdInit", parts.init)}
${cgroupFunctions()}
${usageFunction(measure)}
${parts.memoryLimit ? "xqc_oom_kills; xqc_oom_before=$xqc_oom" : "# memory limit: none"}
${measure.kind === "pooled" ? "xqc_cpu_read; xqc_cpu_base=$xqc_cpu" : "# CPU: counted from 0"}
xqc_oom_struck=0
xqc_child=
xqc_stopped=
# Set once the wrapper is on its way out: a stop sent again (schedulers send one until the
# job has gone) must not exit again before job.rc is written.
xqc_ending=
xqc_timed_out=0
xqc_end() {
  xqc_rc=$? xqc_ending=1
  # A signal that lands while the wrapper forks can run its traps in the child too, before
  # the child drops them: only the wrapper itself ends the job.
  [ "$BASHPID" = "$xqc_self" ] || exit "$xqc_rc"
  [ -n "$xqc_stopped" ] && xqc_rc=$xqc_stopped
  # What a timed command left in its own process group ends with it.
  [ -n "$xqc_child" ] && kill -KILL -- -"$xqc_child" 2>/dev/null
${indent(oomCheck(parts.memoryLimit))}
  case $xqc_rc in
    124) [ "$xqc_timed_out" = 1 ] && ${say(`the job timed out after ${timeout} s (rc 124)`)} ;;
    126) ${say(`rc 126: a command was found but could not be run (job command: ${program})`)} ;;
    127) ${say(`rc 127: a command was not found (job command: ${program})`)} ;;
    137) [ "$xqc_oom_struck" = 1 ] || ${
    say("rc 137: the job was killed by SIGKILL (out of memory, or killed from outside)")
  } ;;
  esac >>"$xqc_meta/job.stderr" 2>/dev/null
  xqc_usage
  echo "$xqc_rc" >"$xqc_meta/job.rc"
  if [ "$xqc_rc" -eq 0 ]; then echo 6 >"$xqc_meta/job.status"; else echo 7 >"$xqc_meta/job.status"; fi
${indent(section("postscript", parts.postscript))}
${indent(section("plugins: onJobcmdEnd", parts.end))}
${indent(parts.pooled ? poolEnd() : "# run by its client: its group ends with it")}
  exit "$xqc_rc"
}
# A stop signal reaches a foreground command with the wrapper's group; a timed command
# has its own group, where the wrapper sends it, and then waits for the command to end.
xqc_stop() {
  [ "$BASHPID" = "$xqc_self" ] || exit "$1"
  [ -z "$xqc_ending" ] || return 0
  xqc_stopped=$1
  [ -n "$xqc_child" ] || { xqc_ending=1; exit "$1"; }
  kill -"$2" -- -"$xqc_child" 2>/dev/null
}
trap xqc_end EXIT
trap 'xqc_stop 129 HUP' HUP
trap 'xqc_stop 130 INT' INT
trap 'xqc_stop 143 TERM' TERM
${parts.pooled ? `echo "start $xqc_pool_id" >&${AGENT_FD}` : "# running: said above"}
${section("prescript", parts.prescript)}
xqc_cmd=(${cmd})
${section("plugins: onJobcmdPrep", parts.prep)}
${timeout ? timedRun(timeout) : foregroundRun()}
`;
}

function poolEnd(): string {
  // The run hears the end from here; then what the job left in its group goes, the wrapper
  // with it (the agent's own report of that end comes after, and is not heard).
  return `echo "end $xqc_pool_id $xqc_rc" >&${AGENT_FD}
kill -KILL -- -"$xqc_self" 2>/dev/null`;
}

function foregroundRun(): string {
  // The command stays in the wrapper's process group, which whoever started the wrapper
  // kills whole when it ends (a local or apptainer job) or which ends with the container.
  return `"\${xqc_cmd[@]}" >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null ${AGENT_FD}>&-
xqc_rc=$?; xqc_ending=1
exit "$xqc_rc"`;
}

function timedRun(seconds: number): string {
  // The command runs in the background, in its own process group (job control on for this
  // one spawn), so that the watchdog's USR1 can interrupt wait and the timeout reaches
  // the whole group.
  return `set -m
"\${xqc_cmd[@]}" >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null ${AGENT_FD}>&- &
xqc_child=$!
set +m
${watchdog(seconds)}
wait "$xqc_child"; xqc_rc=$?
# A trapped signal interrupts wait: wait again until the command has ended.
while kill -0 "$xqc_child" 2>/dev/null; do wait "$xqc_child"; xqc_rc=$?; done
kill -TERM "$xqc_watch" 2>/dev/null
[ "$xqc_timed_out" = 1 ] && xqc_rc=124
xqc_ending=1
exit "$xqc_rc"`;
}

function say(message: string): string {
  return `echo ${shellQuote(`xqc: ${message}`)}`;
}

function oomCheck(limit: string | undefined): string {
  if (!limit) return "# memory limit: none";
  // The OOM killer may take a child and leave the job to exit 0: the count tells.
  return `xqc_oom_kills
if [ -n "$xqc_oom" ] && [ "$xqc_oom" -gt "\${xqc_oom_before:-0}" ]; then
  xqc_oom_struck=1
  xqc_rc=137
  echo "$xqc_oom" >"$xqc_meta/job.oom"
  ${say(`killed: out of memory (limit ${limit})`)} >>"$xqc_meta/job.stderr" 2>/dev/null
fi`;
}

function watchdog(seconds: number): string {
  // The watchdog's USR1 interrupts `wait`; TERM to the command's group first, KILL 5 s
  // later, as GNU timeout -k 5 does.
  return `trap 'xqc_timed_out=1; kill -TERM -- -"$xqc_child" 2>/dev/null' USR1
(
  trap 'kill "$xqc_sleep" 2>/dev/null; exit 0' TERM
  sleep ${seconds} & xqc_sleep=$!; wait "$xqc_sleep"
  kill -USR1 "$xqc_self" 2>/dev/null
  sleep 5 & xqc_sleep=$!; wait "$xqc_sleep"
  kill -KILL -- -"$xqc_child" 2>/dev/null
) </dev/null >/dev/null 2>&1 ${AGENT_FD}>&- &
xqc_watch=$!`;
}

function section(title: string, code: string | undefined): string {
  const body = code?.trim();
  return body ? `# ${title}\n${body}` : `# ${title}: none`;
}

function indent(text: string): string {
  return text.split("\n").map((line) => line ? `  ${line}` : line).join("\n");
}
