#!/usr/bin/env bash
# How long SIGTERM takes, and with what exit status, for the daemon on a copy of the repository's
# config/agent.yaml whose syslog target has no listener (the audit records cannot be delivered)
# and whose VMs are not running (issue 14). Runs in a private network namespace, as root.
#
#   bench/stop-time.sh BINARY [RUNS]      e.g. bench/stop-time.sh /tmp/publish/kvm-udev-agent 9
#
# Prints, per run, the exit status, the time from SIGTERM to exit, and the last log line.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:?usage: bench/stop-time.sh BINARY [RUNS]}
runs=${2:-9}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed -e "s|^rules_dir: .*|rules_dir: $PWD/rules|" -e "s|^state_file: .*|state_file: $work/state.json|" \
    -e "s|^control_socket: .*|control_socket: $work/control.sock|" -e "s|unix:/dev/log|unix:$work/no-syslog.sock|" \
    config/agent.yaml > "$work/agent.yaml"
for i in $(seq 1 "$runs"); do
  unshare -n -- "$binary" run --config "$work/agent.yaml" 2> "$work/log" &
  pid=$!
  for _ in $(seq 1 400); do grep -q '^INF Ready:' "$work/log" && break; sleep 0.025; done
  start=$(date +%s%N)
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  end=$(date +%s%N)
  echo "run $i: exit $status in $(( (end - start) / 1000000 )) ms; last line: $(tail -n 1 "$work/log")"
done
