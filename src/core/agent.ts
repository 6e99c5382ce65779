// The pool agent: a bash loop that lives in a long-lived container and starts each job's
// wrapper there, in a process group of its own, as a request on its stdin asks. Pure bash:
// images may have nothing else.

import { shellQuoteLine } from "./shell.ts";

/** The file descriptor the agent and the wrappers it starts write their reports to. */
export const AGENT_FD = 9;

/**
 * The agent's bash. It reads one request a line on stdin and reports on stdout:
 *
 * - `run ID METADIR [NAME=VALUE…]`: source `METADIR/<wrapper>` (the wrapper's file name is
 *   the agent's first argument) in a forked subshell that leads a process group of its own
 *   (job control is on), with the variables exported, stdin from /dev/null and stdout and
 *   stderr appended to `METADIR/job.pool.out`; the wrapper reports `start ID` and
 *   `end ID RC` itself. (Bash reads a pipe a byte at a time: requests are kept short.)
 * - `kill ID SIGNAL`: signal the job's process group; after SIGKILL, wait for it and
 *   report its end.
 * - `ping`: nothing, but the agent looks at its children after every line (bash defers a
 *   trap until `read` returns), so a job whose wrapper died without a word (SIGKILL from
 *   elsewhere) is reported `end ID RC` then.
 *
 * With a second argument, CHANNEL, it reads requests from the FIFO `CHANNEL.in` and reports
 * on the FIFO `CHANNEL.out` instead (the run holds both open, so neither open waits).
 *
 * It says `ready PID MEMORY-CGROUP` first (`-` when it cannot tell). At the end of its stdin
 * (the run ended, or its client died) it sends SIGTERM to its jobs, again a second later,
 * SIGKILL 5 s later, and exits when they have ended.
 *
 * @returns Bash, for `bash -c SCRIPT NAME WRAPPER-FILE-NAME [CHANNEL]`.
 * @example
 * ```ts
 * import { agentScript } from "./agent.ts";
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes(agentScript(), "read -r xqc_agent_line");
 * ```
 */
export function agentScript(): string {
  const fd = AGENT_FD;
  return `# The @xq/container pool agent.
xqc_agent_wrapper=$1
if [ -n "$2" ]; then exec <"$2.in" ${fd}>"$2.out"; else exec ${fd}>&1; fi
set -m
declare -A xqc_agent_ids=() xqc_agent_pids=()
xqc_agent_ended() {
  kill -KILL -- -"$1" 2>/dev/null
  wait "$1"
  echo "end \${xqc_agent_ids[$1]} $?" >&${fd}
  unset "xqc_agent_pids[\${xqc_agent_ids[$1]}]" "xqc_agent_ids[$1]"
}
xqc_agent_reap() {
  local pid
  for pid in "\${!xqc_agent_ids[@]}"; do
    kill -0 "$pid" 2>/dev/null || xqc_agent_ended "$pid"
  done
}
xqc_agent_cgroup=-
while IFS=: read -r _ xqc_agent_controllers xqc_agent_path; do
  case ",$xqc_agent_controllers," in *,memory,*) xqc_agent_cgroup=$xqc_agent_path ;; esac
done </proc/self/cgroup 2>/dev/null
echo "ready $BASHPID \${xqc_agent_cgroup:--}" >&${fd}
# Job control's notices (Done, Killed) would be all the agent says on stderr.
exec 2>/dev/null
while IFS= read -r xqc_agent_line; do
  eval "xqc_agent_req=($xqc_agent_line)" 2>/dev/null || continue
  case \${xqc_agent_req[0]} in
  run)
    (
      xqc_pool_id=\${xqc_agent_req[1]}
      [ "\${#xqc_agent_req[@]}" -gt 3 ] && export "\${xqc_agent_req[@]:3}"
      unset xqc_agent_line xqc_agent_ids xqc_agent_pids xqc_agent_cgroup xqc_agent_controllers xqc_agent_path
      . "\${xqc_agent_req[2]}/$xqc_agent_wrapper"
    ) </dev/null >>"\${xqc_agent_req[2]}/${POOL_LOG}" 2>&1 &
    xqc_agent_ids[$!]=\${xqc_agent_req[1]}
    xqc_agent_pids[\${xqc_agent_req[1]}]=$!
    ;;
  kill)
    xqc_agent_pid=\${xqc_agent_pids[\${xqc_agent_req[1]}]}
    if [ -n "$xqc_agent_pid" ]; then
      kill -s "\${xqc_agent_req[2]}" -- -"$xqc_agent_pid" 2>/dev/null
      [ "\${xqc_agent_req[2]}" = KILL ] && xqc_agent_ended "$xqc_agent_pid"
    fi
    ;;
  esac
  xqc_agent_reap
done
[ "\${#xqc_agent_pids[@]}" -gt 0 ] || exit 0
for xqc_agent_pid in "\${xqc_agent_pids[@]}"; do kill -TERM -- -"$xqc_agent_pid" 2>/dev/null; done
if command -v sleep >/dev/null; then
  # TERM again after a second (one that came while a wrapper forked may have been lost).
  (
    sleep 1; for p in "\${xqc_agent_pids[@]}"; do kill -TERM -- -"$p"; done
    sleep 4; for p in "\${xqc_agent_pids[@]}"; do kill -KILL -- -"$p"; done
  ) >/dev/null 2>&1 ${fd}>&- &
else
  for xqc_agent_pid in "\${xqc_agent_pids[@]}"; do kill -KILL -- -"$xqc_agent_pid" 2>/dev/null; done
fi
wait "\${xqc_agent_pids[@]}" 2>/dev/null
exit 0
`;
}

/** The workdir's folder of the pool agents' FIFOs (`<container>.in`, `<container>.out`). */
export const POOL_CHANNELS = ".xqc-pool";

/** Where a pooled job's wrapper writes its own output (not the command's), in its metadir. */
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
 * @returns One line, without its newline.
 */
export function killRequest(id: string, signal: "TERM" | "KILL"): string {
  return `kill ${shellQuoteLine(id)} ${signal}`;
}

/** What the agent says, a line at a time. */
export type AgentReport =
  | { kind: "ready"; pid: number; memoryCgroup: string | null }
  | { kind: "start"; id: string }
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
  if (words[0] === "start" && words.length === 2) return { kind: "start", id: words[1] };
  if (words[0] === "end" && words.length === 3 && /^\d+$/.test(words[2])) {
    return { kind: "end", id: words[1], rc: Number(words[2]) };
  }
  return null;
}
