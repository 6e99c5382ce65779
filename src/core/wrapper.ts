// The bash wrapper every job runs in: one template, rendered by a pure function.

import {
  cgroupFunctions,
  cgroupJoin,
  cpuFunctions,
  type Measure,
  usageFunction,
} from "./cgroup_script.ts";
import { explainFunction, timeoutWatchdog, waitFunction, writeRc } from "./job_end.ts";
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
  const timeout = parts.timeout && parts.timeout > 0 ? parts.timeout : 0;
  const measure = parts.measure ?? { kind: "none" };
  return `#!${parts.shebang}
# Job ${parts.index}, trial ${parts.trial}: written by @xq/container.
${cgroupJoin(measure)}
xqc_start=$EPOCHREALTIME
xqc_self=$BASHPID
${jobVariables(parts)}
${section("scheduler set-up", parts.wrapperInit)}
echo 4 >"$xqc_meta/job.status"
echo ${RUNNING_MARKER}
${section("plugins: onJobcmdInit", parts.init)}
${cgroupFunctions()}
${cpuFunctions()}
${usageFunction(measure)}
${explainFunction()}
${parts.memoryLimit ? "xqc_oom_kills; xqc_oom_before=$xqc_oom" : "# memory limit: none"}
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
  xqc_explain
  xqc_usage
${indent(writeRc())}
${section("postscript", parts.postscript)}
${section("plugins: onJobcmdEnd", parts.end)}
  exit "$xqc_rc"
}
# A stop signal reaches a foreground command with the wrapper's group; a timed command
# has its own group, where the wrapper sends it, and then waits for the command to end.
xqc_stop() {
  [ "$BASHPID" = "$xqc_self" ] || exit "$1"
  [ -z "$xqc_ending" ] || return 0
  xqc_stopped=$1 xqc_woken=1
  [ -n "$xqc_child" ] || { xqc_ending=1; exit "$1"; }
  kill -"$2" -- -"$xqc_child" 2>/dev/null
}
trap xqc_end EXIT
trap 'xqc_stop 129 HUP' HUP
trap 'xqc_stop 130 INT' INT
trap 'xqc_stop 143 TERM' TERM
${section("prescript", parts.prescript)}
xqc_cmd=(${commandWords(parts.cmd)})
${section("plugins: onJobcmdPrep", parts.prep)}
${timeout ? timedRun() : foregroundRun()}
`;
}

/** The variables every job gets, whichever way it runs. */
export const JOB_VARIABLES = ["XQUTE_JOB_INDEX", "XQUTE_METADIR", "XQUTE_JOB_METADIR"] as const;

/**
 * The job's variables, exported (`XQUTE_JOB_INDEX`, `XQUTE_METADIR`, `XQUTE_JOB_METADIR`),
 * and the wrapper's own: `xqc_meta`, and what the end of the job says (`xqc_timeout`,
 * `xqc_limit`, `xqc_program`).
 *
 * @param parts The pieces of the wrapper.
 * @returns Bash.
 */
export function jobVariables(parts: WrapperParts): string {
  const program = typeof parts.cmd === "string" ? "bash -c" : parts.cmd[0];
  const values: Record<(typeof JOB_VARIABLES)[number], string> = {
    XQUTE_JOB_INDEX: String(parts.index),
    XQUTE_METADIR: shellQuote(parts.mountedWorkdir),
    XQUTE_JOB_METADIR: shellQuote(parts.mountedMetadir),
  };
  return `${JOB_VARIABLES.map((name) => `export ${name}=${values[name]}`).join("\n")}
xqc_meta=$XQUTE_JOB_METADIR
xqc_timeout=${parts.timeout && parts.timeout > 0 ? parts.timeout : 0}
xqc_limit=${parts.memoryLimit ? shellQuote(parts.memoryLimit) : ""}
xqc_program=${shellQuote(program)}`;
}

/**
 * The words of the job's command, for a bash array: an argv as it is, a string as a
 * `bash -c` command line.
 *
 * @param cmd The command.
 * @returns Bash words.
 */
export function commandWords(cmd: JobCommand): string {
  return typeof cmd === "string" ? `"$BASH" -c ${shellQuote(cmd)}` : shellJoin(cmd);
}

/**
 * A titled piece of bash, or a comment saying there is none.
 *
 * @param title What it is.
 * @param code The bash.
 * @returns Bash.
 */
export function section(title: string, code: string | undefined): string {
  const body = code?.trim();
  return body ? `# ${title}\n${body}` : `# ${title}: none`;
}

/**
 * Bash indented (blank lines stay blank).
 *
 * @param text The bash.
 * @param by How many spaces.
 * @returns It, indented.
 */
export function indent(text: string, by = 2): string {
  const pad = " ".repeat(by);
  return text.split("\n").map((line) => line ? pad + line : line).join("\n");
}

function foregroundRun(): string {
  // The command stays in the wrapper's process group, which whoever started the wrapper
  // kills whole when it ends (a local or apptainer job) or which ends with the container.
  return `"\${xqc_cmd[@]}" >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null
xqc_rc=$?; xqc_ending=1
exit "$xqc_rc"`;
}

function timedRun(): string {
  // The command runs in the background, in its own process group (job control on for this
  // one spawn), so that the watchdog's USR1 can interrupt wait and the timeout reaches
  // the whole group.
  return `set -m
"\${xqc_cmd[@]}" >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null &
xqc_child=$!
set +m
${timeoutWatchdog()}
${waitFunction()}
xqc_wait
kill -TERM "$xqc_watch" 2>/dev/null
[ "$xqc_timed_out" = 1 ] && xqc_rc=124
xqc_ending=1
exit "$xqc_rc"`;
}
