// Bash that reads the job's own cgroup from inside it: found through /proc/self/cgroup,
// where docker and podman mount a container's own cgroup at /sys/fs/cgroup/<controller>
// and apptainer and the host show the whole tree. Pure bash: images may have no tools.

import { shellQuote } from "./shell.ts";

/** How a job's usage is measured. */
export type Measure =
  /** Its cgroup is its own (a docker or podman container): read it. */
  | { kind: "own" }
  /** Join these cgroup folders (made by the run) first, then read them. */
  | { kind: "join"; dirs: readonly string[] }
  /** No cgroup of its own: CPU from the shell's own count of its children. */
  | { kind: "none" }
  /**
   * The cgroup of a pool's container, which earlier jobs used: CPU counted from the job's
   * start, peak memory only when the run reset the container's peak before the job.
   */
  | { kind: "pooled"; peak: boolean };

/**
 * Bash functions for the wrapper: `xqc_cgroup_file CONTROLLER FILE` sets `xqc_file` to the
 * path of FILE in this process's cgroup of CONTROLLER (cgroup v1; the unified hierarchy,
 * v2, when CONTROLLER is empty), or to nothing; `xqc_oom_kills` sets `xqc_oom` to the OOM
 * killer's count in the job's memory cgroup (v1 memory.oom_control, v2 memory.events).
 *
 * @returns Bash.
 */
export function cgroupFunctions(): string {
  return `xqc_cgroup_file() {
  xqc_file=
  local id controllers path dirs dir
  while IFS=: read -r id controllers path; do
    if [ -z "$1" ]; then
      [ "$id" = 0 ] && [ -z "$controllers" ] || continue
      dirs=/sys/fs/cgroup
    else
      case ",$controllers," in *",$1,"*) ;; *) continue ;; esac
      dirs="/sys/fs/cgroup/$1 /sys/fs/cgroup/$controllers"
    fi
    for dir in $dirs; do
      for xqc_file in "$dir$path/$2" "$dir/$2"; do [ -r "$xqc_file" ] && return; done
    done
    xqc_file=
  done </proc/self/cgroup 2>/dev/null
}
xqc_oom_kills() {
  xqc_oom=
  local key value
  xqc_cgroup_file memory memory.oom_control
  [ -n "$xqc_file" ] || xqc_cgroup_file "" memory.events
  [ -n "$xqc_file" ] || return
  while read -r key value; do
    [ "$key" = oom_kill ] && { xqc_oom=$value; return; }
  done <"$xqc_file"
}`;
}

/**
 * Bash that joins a run-made cgroup, as the wrapper's first act (nothing is forked yet).
 *
 * @param measure How the job is measured.
 * @returns Bash, or a comment.
 */
export function cgroupJoin(measure: Measure): string {
  if (measure.kind !== "join") return "# cgroup: the job's own, or none";
  return measure.dirs.map((dir) =>
    `echo $BASHPID >${shellQuote(`${dir}/cgroup.procs`)} 2>/dev/null`
  )
    .join("\n");
}

/**
 * Bash functions: `xqc_cpu_read` sets `xqc_cpu` to the cgroup's CPU time in ms (or nothing),
 * and `xqc_usage` writes `job.usage`: when the job started and ended (bash's EPOCHREALTIME),
 * its peak memory in bytes and CPU time in ms, and how they were measured (`cgroup`;
 * `times`, the shell's count of its children's CPU, when there is no cgroup). A pooled
 * job's CPU counts from `xqc_cpu_base`, which its wrapper reads before the command.
 *
 * @param measure How the job is measured.
 * @returns Bash.
 */
export function usageFunction(measure: Measure): string {
  const peak = measure.kind === "own" || measure.kind === "join" ||
    (measure.kind === "pooled" && measure.peak);
  const lines = [
    ...(peak
      ? [
        "xqc_cgroup_file memory memory.max_usage_in_bytes",
        '[ -n "$xqc_file" ] || xqc_cgroup_file "" memory.peak',
        '[ -n "$xqc_file" ] && read -r peak <"$xqc_file"',
      ]
      : []),
    ...(measure.kind === "none" ? [] : ["xqc_cpu_read", "cpu=$xqc_cpu"]),
    ...(measure.kind === "pooled"
      ? ['[ -n "$cpu" ] && [ -n "$xqc_cpu_base" ] && cpu=$((cpu - xqc_cpu_base))']
      : []),
    ...(measure.kind === "none" ? [] : ['[ -n "$cpu" ] && how=cgroup']),
  ];
  return `xqc_cpu_read() {
  xqc_cpu=
  local key value
  xqc_cgroup_file cpuacct cpuacct.usage
  if [ -n "$xqc_file" ]; then
    read -r xqc_cpu <"$xqc_file" && xqc_cpu=$((xqc_cpu / 1000000))
    return
  fi
  xqc_cgroup_file "" cpu.stat
  [ -n "$xqc_file" ] && while read -r key value; do
    [ "$key" = usage_usec ] && xqc_cpu=$((value / 1000))
  done <"$xqc_file"
}
xqc_usage() {
  local peak= cpu= how=times key value line user sys
  ${lines.length ? lines.join("\n  ") : ":"}
  if [ -z "$cpu" ]; then
    # times, in this shell (not a subshell, which has no children): the shell's own user and
    # system time, then its children's, as 0m1.250s 0m0.010s.
    times >"$xqc_meta/job.usage" 2>/dev/null
    { read -r line; read -r line; } <"$xqc_meta/job.usage"
    user=\${line%% *}; sys=\${line##* }
    xqc_ms "$user"; cpu=$xqc_ms_value
    xqc_ms "$sys"; cpu=$((cpu + xqc_ms_value))
  fi
  printf 'start=%s\\nend=%s\\npeak_rss=%s\\ncpu_ms=%s\\nmeasured=%s\\n' \\
    "$xqc_start" "$EPOCHREALTIME" "$peak" "$cpu" "$how" >"$xqc_meta/job.usage" 2>/dev/null
}
xqc_ms() {
  local minutes=\${1%%m*} seconds=\${1#*m}
  seconds=\${seconds%s}
  local whole=\${seconds%.*} fraction=\${seconds#*.}000
  xqc_ms_value=$((10#$minutes * 60000 + 10#$whole * 1000 + 10#\${fraction:0:3}))
}`;
}
