// What a job's end says: bash shared by the standalone wrapper and a pool's agent, which
// ends the jobs it runs itself.

/**
 * Bash function `xqc_explain`, run once a job's command has ended with `xqc_rc`: it tells
 * an OOM kill apart when the job has a memory limit (`xqc_limit`, as people write it; the
 * count before the job in `xqc_oom_before`): rc 137, `job.oom`; and it explains rc 124 (a
 * timeout, when `xqc_timed_out` is 1, after `xqc_timeout` s), 126, 127 (of the job command
 * `xqc_program`) and 137 in `$xqc_meta/job.stderr`. It needs `xqc_oom_kills`.
 *
 * @returns Bash.
 * @example
 * ```ts
 * import { explainFunction } from "./job_end.ts";
 * import { assertStringIncludes } from "@std/assert";
 * assertStringIncludes(explainFunction(), "xqc_explain()");
 * ```
 */
export function explainFunction(): string {
  return `xqc_explain() {
  xqc_oom_struck=0
  # The OOM killer may take a child and leave the job to exit 0: the count tells.
  if [ -n "$xqc_limit" ]; then
    xqc_oom_kills
    if [ -n "$xqc_oom" ] && [ "$xqc_oom" -gt "\${xqc_oom_before:-0}" ]; then
      xqc_oom_struck=1
      xqc_rc=137
      echo "$xqc_oom" >"$xqc_meta/job.oom"
      echo "xqc: killed: out of memory (limit $xqc_limit)" >>"$xqc_meta/job.stderr"
    fi
  fi 2>/dev/null
  case $xqc_rc in
    124) [ "$xqc_timed_out" = 1 ] && echo "xqc: the job timed out after $xqc_timeout s (rc 124)" ;;
    126) echo "xqc: rc 126: a command was found but could not be run (job command: $xqc_program)" ;;
    127) echo "xqc: rc 127: a command was not found (job command: $xqc_program)" ;;
    137) [ "$xqc_oom_struck" = 1 ] ||
      echo "xqc: rc 137: the job was killed by SIGKILL (out of memory, or killed from outside)" ;;
  esac >>"$xqc_meta/job.stderr" 2>/dev/null
}`;
}

/**
 * Bash that writes a job's `job.rc` (from `xqc_rc`) and FINISHED (6) or FAILED (7) to its
 * `job.status`.
 *
 * @returns Bash.
 */
export function writeRc(): string {
  return `echo "$xqc_rc" >"$xqc_meta/job.rc"
if [ "$xqc_rc" -eq 0 ]; then echo 6 >"$xqc_meta/job.status"; else echo 7 >"$xqc_meta/job.status"; fi`;
}

/**
 * Bash that starts the watchdog of a timed command, `xqc_child` (which leads its own
 * process group), for the shell `xqc_self`: after `xqc_timeout` s it sends that shell USR1,
 * whose trap (set here) sets `xqc_timed_out` and sends the command's group SIGTERM; SIGKILL
 * follows 5 s later, as GNU timeout -k 5 does. The watchdog's pid is `xqc_watch`; SIGTERM
 * ends it.
 *
 * @returns Bash.
 */
export function timeoutWatchdog(): string {
  return `trap 'xqc_woken=1 xqc_timed_out=1; kill -TERM -- -"$xqc_child" 2>/dev/null' USR1
(
  trap 'kill "$xqc_sleep" 2>/dev/null; exit 0' TERM
  sleep "$xqc_timeout" & xqc_sleep=$!; wait "$xqc_sleep"
  kill -USR1 "$xqc_self" 2>/dev/null
  sleep 5 & xqc_sleep=$!; wait "$xqc_sleep"
  kill -KILL -- -"$xqc_child" 2>/dev/null
) </dev/null >/dev/null 2>&1 &
xqc_watch=$!`;
}

/**
 * Bash function `xqc_wait`: wait for the command `xqc_child` to end, its status in `xqc_rc`.
 * A trapped signal interrupts `wait` (status 128 + its number): every trap that may come
 * meanwhile sets `xqc_woken`, and the shell waits again. (Bash may have reaped the command
 * already, keeping its status for `wait`: `kill -0` cannot tell whether it has ended.)
 *
 * @returns Bash.
 */
export function waitFunction(): string {
  return `xqc_wait() {
  local status
  xqc_rc=
  while :; do
    xqc_woken=
    wait "$xqc_child"; status=$?
    # Waited for already: the status before was the command's own.
    [ "$status" = 127 ] && [ -n "$xqc_rc" ] && return
    xqc_rc=$status
    [ -n "$xqc_woken" ] && [ "$status" -gt 128 ] || return
  done
}`;
}
