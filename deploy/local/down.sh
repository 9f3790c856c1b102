#!/usr/bin/env bash
# Stops what deploy/local/up.sh started: HAProxy, then each replica (SIGTERM: it answers what it
# holds; SIGKILL after 40 s). Removes the PID, port and socket files; leaves the logs in run/.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ -d "$RUN" ] || { say "nothing to stop (no ${RUN#"$ROOT"/}/)"; exit 0; }
pids=()
hp="$(pid_of "$RUN/haproxy.pid")"
stop_pid "$hp" 10 && [ -n "$hp" ] && pids+=("haproxy $hp")
for k in $(replicas); do
  p="$(pid_of "$RUN/replica-$k.pid")"
  [ -n "$p" ] && pids+=("r$k $p")
  stop_pid "$p" 40 &
done
wait
rm -f "$RUN"/*.pid "$RUN"/*.port "$RUN/haproxy.sock" "$RUN/settings.sh"
say "stopped: ${pids[*]:-nothing}"
