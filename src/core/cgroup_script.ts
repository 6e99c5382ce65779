// Bash that reads the job's own cgroup from inside it: found through /proc/self/cgroup,
// where docker and podman mount a container's own cgroup at /sys/fs/cgroup/<controller>
// and apptainer and the host show the whole tree. Pure bash: images may have no tools.

import { shellQuote } from "./shell.ts";

/** How a job's usage is measured. */
export type Measure =
  /** Its cgroup is its own (a docker or podman container): read it. */
  | { kind: "own" }
  /**
   * Join these cgroup folders (made by the run) first, then read them; the peak counts from
   * `memoryBase` bytes, what earlier trials left charged to them.
   */
  | { kind: "join"; dirs: readonly string[]; memoryBase?: number }
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
 * v2, when CONTROLLER is empty), or to nothing, or, when the array `xqc_cgroup_dirs` names
 * folders (a pool's agent reading the cgroup its job joined), to FILE in the first of them
 * that has it. A shell that stays in its cgroup (a pool's agent) may set `xqc_cgroup_memo`
 * and declare the associative array `xqc_cgroup_found`: it then looks each file up once.
 * `xqc_oom_kills` sets `xqc_oom` to the OOM killer's count in the job's memory cgroup (v1
 * memory.oom_control, v2 memory.events).
 *
 * @returns Bash.
 */
export function cgroupFunctions(): string {
  return `xqc_cgroup_file() {
  xqc_file=
  local dir
  if [ "\${#xqc_cgroup_dirs[@]}" -gt 0 ]; then
    for dir in "\${xqc_cgroup_dirs[@]}"; do
      xqc_file=$dir/$2
      [ -r "$xqc_file" ] && return
    done
    xqc_file=
    return
  fi
  # A shell that stays in its cgroup (a pool's agent) keeps what it found.
  if [ -n "$xqc_cgroup_memo" ] && [ -n "\${xqc_cgroup_found[$1/$2]+found}" ]; then
    xqc_file=\${xqc_cgroup_found[$1/$2]}
    return
  fi
  xqc_cgroup_lookup "$@"
  [ -z "$xqc_cgroup_memo" ] || xqc_cgroup_found[$1/$2]=$xqc_file
}
xqc_cgroup_lookup() {
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
 * Bash functions: `xqc_cpu_read` sets `xqc_cpu` to the cgroup's CPU time in ms (or
 * nothing); `xqc_times_read` sets `xqc_times` to the CPU time of the shell's children that
 * have ended, in ms (bash's `times`, through the file `$xqc_meta/job.usage`).
 *
 * @returns Bash.
 */
export function cpuFunctions(): string {
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
xqc_times_read() {
  local line user sys
  # The shell's own user and system time, then its children's, as 0m1.250s 0m0.010s.
  times >"$xqc_meta/job.usage" 2>/dev/null
  { read -r line; read -r line; } <"$xqc_meta/job.usage"
  user=\${line%% *}; sys=\${line##* }
  xqc_ms "$user"; xqc_times=$xqc_ms_value
  xqc_ms "$sys"; xqc_times=$((xqc_times + xqc_ms_value))
}
xqc_ms() {
  local minutes=\${1%%m*} seconds=\${1#*m}
  seconds=\${seconds%s}
  local whole=\${seconds%.*} fraction=\${seconds#*.}000
  xqc_ms_value=$((10#$minutes * 60000 + 10#$whole * 1000 + 10#\${fraction:0:3}))
}`;
}

/**
 * Bash that reads where the job's CPU time counts from, for a job whose count does not
 * start at 0: one in a pool container's cgroup, which earlier jobs used, or one measured by
 * the `times` of a pool's agent, whose earlier children count too.
 *
 * @param measure How the job is measured.
 * @returns Bash, or a comment.
 */
export function usageBase(measure: Measure): string {
  if (measure.kind === "pooled") {
    return `xqc_cpu_read; xqc_cpu_base=$xqc_cpu
[ -n "$xqc_cpu_base" ] || { xqc_times_read; xqc_times_base=$xqc_times; }`;
  }
  if (measure.kind === "none") return "xqc_times_read; xqc_times_base=$xqc_times";
  return "# CPU: counted from 0";
}

/**
 * Bash function `xqc_usage`, which writes `job.usage`: when the job started and ended
 * (bash's EPOCHREALTIME, from `xqc_start`), its peak memory in bytes and CPU time in ms,
 * and how they were measured (`cgroup`; `times`, the shell's count of its children's
 * CPU, when there is no cgroup), each CPU count from its base (`xqc_cpu_base`,
 * `xqc_times_base`; 0 when unset). It needs {@link cgroupFunctions} and
 * {@link cpuFunctions}.
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
        ...(measure.kind === "join" && measure.memoryBase
          ? [
            `[ -n "$peak" ] && peak=$((peak > ${measure.memoryBase} ? peak - ${measure.memoryBase} : 0))`,
          ]
          : []),
      ]
      : []),
    ...(measure.kind === "none" ? [] : [
      "xqc_cpu_read",
      '[ -n "$xqc_cpu" ] && [ -n "${xqc_cpu_base-0}" ] && cpu=$((xqc_cpu - ${xqc_cpu_base:-0})) how=cgroup',
    ]),
  ];
  return `xqc_usage() {
  local peak= cpu= how=times
  ${lines.length ? lines.join("\n  ") : ":"}
  if [ -z "$cpu" ]; then
    xqc_times_read
    cpu=$((xqc_times - \${xqc_times_base:-0}))
  fi
  printf 'start=%s\\nend=%s\\npeak_rss=%s\\ncpu_ms=%s\\nmeasured=%s\\n' \\
    "$xqc_start" "$EPOCHREALTIME" "$peak" "$cpu" "$how" >"$xqc_meta/job.usage" 2>/dev/null
}`;
}
