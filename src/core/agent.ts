// The pool agent: a bash loop that lives in a long-lived container and runs there, one after
// another, the jobs its requests ask for, each in a process group of its own; it waits for
// each job itself and ends it. Pure bash: images may have nothing else.

import { cgroupFunctions, cpuFunctions } from "./cgroup_script.ts";
import { explainFunction, timeoutWatchdog, waitFunction, writeRc } from "./job_end.ts";
import { shellQuote, shellQuoteLine } from "./shell.ts";
import { indent, JOB_VARIABLES } from "./wrapper.ts";

/** The file descriptor the agent and its jobs write their reports to. */
export const AGENT_FD = 9;

/** The agent's file descriptor of the `run` requests its reader passes on. */
const RUNS_FD = 8;

/** The spawner's bash (see the agent's). Job control gives each job a process group. */
const SPAWNER = `set -m
while IFS= read -r line; do
  eval "xqc_spawn=($line)" 2>/dev/null || continue
  (
    export "\${xqc_spawn[@]:2:xqc_spawn[1]}"
    exec "\${xqc_spawn[@]:2+xqc_spawn[1]}" >"\${xqc_spawn[0]}/job.stdout" 2>"\${xqc_spawn[0]}/job.stderr" </dev/null
  ) &
  echo "$!"
  wait "$!"; echo "$?"
done
`;

/**
 * The agent's bash. It reads one request a line on stdin and reports on stdout:
 *
 * - `run ID METADIR [NAME=VALUE…]`: source `METADIR/<job file>` (the file's name is the
 *   agent's first argument; see pool_job.ts), write RUNNING (4) to `job.status`, start the
 *   job's process, which leads a process group of its own (job control is on), and report
 *   `start ID PGID`. A plain job (a program with nothing to run before it) is started by the
 *   agent's spawner, a small bash that only forks and waits; other jobs by the agent itself.
 *   The job's process exports the variables, runs the file's `xqc_before` if it has one, and
 *   becomes its command (`exec`; a builtin runs in it), stdin from /dev/null, stdout and
 *   stderr in `job.stdout` and `job.stderr` (what the hooks say, in `job.pool.out`). The
 *   agent waits for it (timing it out when the file says so), ends what it left in its group,
 *   writes `job.usage`, `job.rc` and `job.status`, runs the file's `xqc_after` if it has one,
 *   and reports `end ID RC`. Jobs run one after another. (Bash reads a pipe a byte at a time:
 *   requests are kept short.) After a fork, every page of memory a process writes costs it a
 *   page fault, most of a pooled job's cost: the agent, which writes many pages a job, forks
 *   none for a plain job.
 * - `kill ID SIGNAL PGID`: signal the job's process group (TERM, KILL, INT or HUP).
 *
 * A reader (a subshell, the only one that reads the requests) passes `run` on to the agent
 * and sends the signals itself, so the agent can wait for its job meanwhile.
 *
 * With a second argument, CHANNEL (not empty), it reads requests from the FIFO `CHANNEL.in`
 * and reports on the FIFO `CHANNEL.out` instead (the run holds both open, so neither open
 * waits). Further arguments are cgroup folders the run made for the container, which the
 * agent joins first.
 *
 * It says `ready PID MEMORY-CGROUP` first (`-` when it cannot tell). At the end of its stdin
 * (the run ended, or its client died) it sends SIGTERM to its job, again a second later,
 * SIGKILL 5 s later, ends the job as usual, and exits.
 *
 * @returns Bash, for `bash -c SCRIPT NAME JOB-FILE-NAME [CHANNEL [CGROUP-DIR…]]`.
 * @example
 * ```ts
 * import { agentScript } from "./agent.ts";
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes(agentScript(), "read -r -u 8 xqc_agent_line");
 * ```
 */
export function agentScript(): string {
  const fd = AGENT_FD;
  const runs = RUNS_FD;
  return `# The @xq/container pool agent.
xqc_agent_wrapper=$1
if [ -n "$2" ]; then exec <"$2.in" ${fd}>"$2.out"; else exec ${fd}>&1; fi
xqc_self=$BASHPID
# The cgroup folders the run made for this container: the agent, and so its jobs, join them.
if [ "$#" -gt 2 ]; then
  shift 2
  for xqc_agent_dir; do echo "$BASHPID" >"$xqc_agent_dir/cgroup.procs"; done 2>/dev/null
fi
xqc_agent_cgroup=-
while IFS=: read -r _ xqc_agent_controllers xqc_agent_path; do
  case ",$xqc_agent_controllers," in *,memory,*) xqc_agent_cgroup=$xqc_agent_path ;; esac
done </proc/self/cgroup 2>/dev/null
echo "ready $BASHPID \${xqc_agent_cgroup:--}" >&${fd}
# Job control's notices (Done, Killed) would be all the agent says on stderr.
exec 2>/dev/null
# The reader: it passes \`run\` on and signals a job's group itself; at the end of the
# requests it tells the agent to stop (USR2).
xqc_agent_read() {
  local line req
  while IFS= read -r line; do
    eval "req=($line)" 2>/dev/null || continue
    case \${req[0]} in
    run) printf '%s\\n' "$line" ;;
    kill)
      case \${req[2]} in TERM | KILL | INT | HUP) ;; *) continue ;; esac
      [[ \${req[3]} =~ ^[1-9][0-9]*$ ]] && kill -s "\${req[2]}" -- -"\${req[3]}" 2>/dev/null
      ;;
    esac
  done
  kill -USR2 "$xqc_self" 2>/dev/null
}
exec ${runs}< <(xqc_agent_read ${fd}>&-)
exec </dev/null
${cgroupFunctions()}
declare -A xqc_cgroup_found=()
xqc_cgroup_memo=1
${cpuFunctions()}
${explainFunction()}
${waitFunction()}
xqc_child=
xqc_agent_stopping=
xqc_agent_escalation=
# SIGTERM to the job's group, again a second later (one that came as the job forked is
# lost), SIGKILL 5 s later.
xqc_agent_term() {
  [ -n "$xqc_child" ] || return 0
  kill -TERM -- -"$xqc_child" 2>/dev/null
  [ -z "$xqc_agent_escalation" ] || return 0
  if command -v sleep >/dev/null; then
    {
      (
        sleep 1; kill -TERM -- -"$xqc_child"
        sleep 4; kill -KILL -- -"$xqc_child"
      ) >/dev/null 2>&1 &
      xqc_agent_escalation=$!
    } ${fd}>&- ${runs}<&-
  else
    kill -KILL -- -"$xqc_child" 2>/dev/null
  fi
}
xqc_agent_stop() {
  [ "$BASHPID" = "$xqc_self" ] || return 0
  xqc_agent_stopping=1 xqc_woken=1
  xqc_agent_term
}
# The reader's word that the requests have ended. (A signal from elsewhere, such as a
# cancelled allocation's, ends the agent as it would any process: its job is lost.)
trap xqc_agent_stop USR2
set -m
# The job's variables, from its request (in the job's process, and for its postscript).
xqc_agent_envs() {
  [ "\${#xqc_agent_req[@]}" -le 3 ] || export "\${xqc_agent_req[@]:3}"
}
# A job whose file could not be read ends at once, rc 127.
xqc_agent_unread() {
  xqc_rc=127
  echo "xqc: the job's file could not be read: $xqc_meta/$xqc_agent_wrapper" >>"$xqc_meta/job.stderr"
  {
${indent(writeRc(), 4)}
  } 2>/dev/null
  echo "end $xqc_pool_id $xqc_rc" >&${fd}
}
# The spawner, a bash of its own (its memory is small, which makes its forks cheaper), starts
# each plain job (a program with nothing to run before it) and waits for it: it is told the
# job's metadir, how many variables follow, the variables and the command, and says the job's
# pid (its process leads a group of its own), then its status.
xqc_spawner=${shellQuote(SPAWNER)}
# The spawner's next line, in xqc_said. A trap that lands meanwhile (a timeout, the end of
# the requests) runs, and the reading goes on. Without a spawner the agent cannot go on.
xqc_spawn_read() {
  local part status
  xqc_said=
  while :; do
    IFS= read -r -u "\${XQC_SPAWN[0]}" part && { xqc_said+=$part; return; }
    status=$?
    [ "$status" -gt 128 ] || exit 1
    xqc_said+=$part
  done
}
xqc_agent_run() {
  xqc_pool_id=\${xqc_agent_req[1]} xqc_meta=\${xqc_agent_req[2]}
  # What the last job's file defined goes.
  unset -f xqc_before xqc_after xqc_usage
  unset xqc_cgroup_dirs xqc_cpu_base xqc_times_base xqc_oom_before
  xqc_loaded= xqc_hooks= xqc_timed_out=0 xqc_watch= xqc_child= xqc_agent_escalation=
  # The file only defines (its hooks print, when they run): read quietly, so that a plain job
  # makes no file of the agent's own. One that does not load is read again for the record.
  . "$xqc_meta/$xqc_agent_wrapper" >/dev/null 2>&1
  if [ -z "$xqc_loaded" ]; then
    . "$xqc_meta/$xqc_agent_wrapper" >>"$xqc_meta/${POOL_LOG}" 2>&1
    xqc_agent_unread
    return
  fi
  echo 4 >"$xqc_meta/job.status"
  # The job's process leads a process group of its own (job control is on).
  local spawned=
  if [ -n "$xqc_exec" ] && [ -z "$xqc_hooks" ]; then
    # The job's variables: those its file exported, and its request's.
    xqc_vars=(${
    JOB_VARIABLES.map((name) => `"${name}=$${name}"`).join(" ")
  } "\${xqc_agent_req[@]:3}")
    printf -v xqc_said '%q ' "$xqc_meta" "\${#xqc_vars[@]}" "\${xqc_vars[@]}" "\${xqc_cmd[@]}"
    echo "$xqc_said" >&"\${XQC_SPAWN[1]}"
    xqc_spawn_read
    xqc_child=$xqc_said spawned=1
  else
    (
      xqc_agent_envs
      [[ $xqc_hooks != *before* ]] || xqc_before
      # A program: the process becomes it; a builtin runs in it.
      \${xqc_exec:+exec} "\${xqc_cmd[@]}" >"$xqc_meta/job.stdout" 2>"$xqc_meta/job.stderr" </dev/null ${fd}>&-
    ) </dev/null >>"$xqc_meta/${POOL_LOG}" 2>&1 ${runs}<&- &
    xqc_child=$!
  fi
  echo "start $xqc_pool_id $xqc_child" >&${fd}
  [ -z "$xqc_agent_stopping" ] || xqc_agent_term
  if [ "$xqc_timeout" -gt 0 ]; then
    {
${indent(timeoutWatchdog(), 6)}
    } ${fd}>&- ${runs}<&-
  fi
  if [ -n "$spawned" ]; then
    xqc_spawn_read
    xqc_rc=$xqc_said
  else
    xqc_wait
  fi
  [ -z "$xqc_watch" ] || { kill -TERM "$xqc_watch"; wait "$xqc_watch"; } 2>/dev/null
  [ -z "$xqc_agent_escalation" ] || { kill -TERM "$xqc_agent_escalation"; wait "$xqc_agent_escalation"; } 2>/dev/null
  [ "$xqc_timed_out" = 1 ] && xqc_rc=124
  # What the job left in its group goes with it.
  kill -KILL -- -"$xqc_child" 2>/dev/null
  xqc_explain
  xqc_usage
${indent(writeRc())}
  if [[ $xqc_hooks == *after* ]]; then
    (xqc_agent_envs; xqc_after) </dev/null >>"$xqc_meta/${POOL_LOG}" 2>&1 ${fd}>&- ${runs}<&-
  fi
  echo "end $xqc_pool_id $xqc_rc" >&${fd}
  xqc_child=
}
coproc XQC_SPAWN { exec "\${BASH:-bash}" -c "$xqc_spawner" xqc-spawner ${fd}>&- ${runs}<&-; }
while [ -z "$xqc_agent_stopping" ] && IFS= read -r -u ${runs} xqc_agent_line; do
  eval "xqc_agent_req=($xqc_agent_line)" 2>/dev/null || continue
  [ "\${xqc_agent_req[0]}" = run ] && xqc_agent_run
done
exit 0
`;
}

/** The workdir's folder of the pool agents' FIFOs (`<container>.in`, `<container>.out`). */
export const POOL_CHANNELS = ".xqc-pool";

/**
 * Where a pooled job's hooks write (set-up, prescript, postscript: not the command), in its
 * metadir; and bash's error for a job file that does not load.
 */
export const POOL_LOG = "job.pool.out";

/**
 * The request that runs a job's wrapper.
 *
 * @param id The job's id in the pool (`INDEX.TRIAL`).
 * @param metadir The job's metadir, as the container sees it.
 * @param envs The job's variables.
 * @returns One line, without its newline.
 * @example
 * ```ts
 * import { runRequest } from "./agent.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(runRequest("3.1", "/w/3", { A: "x y" }), "run 3.1 /w/3 'A=x y'");
 * ```
 */
export function runRequest(
  id: string,
  metadir: string,
  envs: Readonly<Record<string, string>>,
): string {
  const words = ["run", id, metadir, ...Object.entries(envs).map(([k, v]) => `${k}=${v}`)];
  return words.map(shellQuoteLine).join(" ");
}

/**
 * The request that signals a job's process group.
 *
 * @param id The job's id in the pool.
 * @param signal The signal's name without `SIG` (`TERM`, `KILL`).
 * @param pgid The job's process group, as its `start` report said.
 * @returns One line, without its newline.
 */
export function killRequest(id: string, signal: "TERM" | "KILL", pgid: number): string {
  return `kill ${shellQuoteLine(id)} ${signal} ${pgid}`;
}

/** What the agent says, a line at a time. */
export type AgentReport =
  | { kind: "ready"; pid: number; memoryCgroup: string | null }
  | { kind: "start"; id: string; pgid: number }
  | { kind: "end"; id: string; rc: number };

/**
 * Read one line of the agent's.
 *
 * @param line The line, without its newline.
 * @returns What it says, or `null` for a line that is not a report.
 * @example
 * ```ts
 * import { parseAgentReport } from "./agent.ts";
 * import { assertEquals } from "@std/assert";
 * assertEquals(parseAgentReport("end 3.1 0"), { kind: "end", id: "3.1", rc: 0 });
 * ```
 */
export function parseAgentReport(line: string): AgentReport | null {
  const words = line.trim().split(" ");
  if (words[0] === "ready" && words.length === 3 && /^\d+$/.test(words[1])) {
    return {
      kind: "ready",
      pid: Number(words[1]),
      memoryCgroup: words[2] === "-" ? null : words[2],
    };
  }
  if (words[0] === "start" && words.length === 3 && /^\d+$/.test(words[2])) {
    return { kind: "start", id: words[1], pgid: Number(words[2]) };
  }
  if (words[0] === "end" && words.length === 3 && /^\d+$/.test(words[2])) {
    return { kind: "end", id: words[1], rc: Number(words[2]) };
  }
  return null;
}
