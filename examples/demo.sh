#!/usr/bin/env bash
# The README's first command: make sure a container engine and busybox are here (installing
# Docker from Debian's packages when none answers), then run a real batch with xqc.
set -euo pipefail
cd "$(dirname "$0")/.."

answers() {
  case "$1" in
    apptainer) apptainer --version >/dev/null 2>&1 ;;
    *) "$1" version >/dev/null 2>&1 ;;
  esac
}

apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" = 0 ] || { echo "demo: run as root to install ${missing[*]}" >&2; exit 1; }
  echo "demo: installing ${missing[*]} from Debian's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

engine="${XQC_DEMO_ENGINE:-}"
if [ -z "$engine" ]; then
  for e in docker podman apptainer; do
    if answers "$e"; then engine=$e; break; fi
  done
fi
if [ -z "$engine" ]; then
  apt_install docker.io
  if ! answers docker; then
    if command -v systemctl >/dev/null 2>&1 && systemctl start docker 2>/dev/null; then :; else
      # No systemd (a container or a sandbox): start the daemon here; without iptables if
      # the machine does not allow it.
      setsid dockerd >/tmp/xqc-demo-dockerd.log 2>&1 </dev/null &
      for _ in $(seq 1 30); do answers docker && break; sleep 0.5; done
      if ! answers docker; then
        pkill -x dockerd 2>/dev/null || true
        setsid dockerd --iptables=false --ip6tables=false --bridge=none \
          >/tmp/xqc-demo-dockerd.log 2>&1 </dev/null &
        for _ in $(seq 1 30); do answers docker && break; sleep 0.5; done
      fi
    fi
  fi
  answers docker || { echo "demo: docker does not answer (see /tmp/xqc-demo-dockerd.log)" >&2; exit 3; }
  engine=docker
fi
command -v busybox >/dev/null 2>&1 || apt_install busybox-static
exec deno run -A examples/demo.ts "$engine"
