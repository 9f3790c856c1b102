#!/usr/bin/env bash
# HAProxy's view of the replicas (from its admin socket): status, sessions now, requests served,
# connection errors, retries and redispatches; and each replica's PID.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -S "$RUN/haproxy.sock" ] || die "HAProxy is not running (deploy/local/up.sh starts it)"
printf "%-8s %-6s %-10s %8s %10s %8s %8s %8s %s\n" server pid status sessions total conn_err retries redisp last_check
hactl "show stat" | awk -F, -v b="$BACKEND" '$1 == b && $2 ~ /^r[0-9]+$/ { print $2, $18, $5, $8, $14, $16, $17, $37 }' |
  while read -r name status scur stot econ wretr wredis check; do
    k="${name#r}"
    printf '%-8s %-6s %-10s %8s %10s %8s %8s %8s %s\n' "$name" "$(pid_of "$RUN/replica-$k.pid")" "$status" "$scur" "$stot" "$econ" "$wretr" "$wredis" "$check"
  done
