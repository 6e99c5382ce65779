// Bash that reads the job's own cgroup from inside it: found through /proc/self/cgroup,
// where docker and podman mount a container's own cgroup at /sys/fs/cgroup/<controller>
// and apptainer and the host show the whole tree. Pure bash: images may have no tools.

/**
 * Bash functions for the wrapper: `xqc_cgroup_file CONTROLLER FILE` sets `xqc_file` to the
 * path of FILE in this process's cgroup of CONTROLLER (cgroup v1), or of the unified
 * hierarchy (v2) when CONTROLLER is empty, or to nothing; `xqc_oom_kills` sets `xqc_oom`
 * to the OOM killer's count in the job's memory cgroup (v1 memory.oom_control, v2
 * memory.events), or to nothing when it cannot be read.
 *
 * @returns Bash.
 */
export function cgroupFunctions(): string {
  return `xqc_cgroup_file() {
  xqc_file=
  local line path dir
  while IFS= read -r line; do
    case $line in
      *:"$1":*) path=\${line#*:"$1":}; dir=/sys/fs/cgroup/$1 ;;
      0::*) [ -z "$1" ] || continue; path=\${line#0::}; dir=/sys/fs/cgroup ;;
      *) continue ;;
    esac
    for xqc_file in "$dir$path/$2" "$dir/$2"; do [ -r "$xqc_file" ] && return; done
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
