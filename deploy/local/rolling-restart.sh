#!/usr/bin/env bash
# Restarts the replicas deploy/local/up.sh started, one at a time, without losing a request:
# for each, HAProxy stops sending it new requests (`disable server`, its admin socket), the
# requests it holds finish, SIGTERM (ferry answers what is queued, then exits), a new
# `ferry serve` starts on the same port, and once /v2/health/ready says 200 HAProxy takes it back
# (`enable server`, then its health check must see it UP) before the next replica goes.
#
#   deploy/local/rolling-restart.sh [--drain-timeout-s 60]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

drain_s=60
while (($#)); do
  case "$1" in
    --drain-timeout-s) drain_s="${2:?--drain-timeout-s needs seconds}"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--drain-timeout-s N)" ;;
  esac
done
[ -S "$RUN/haproxy.sock" ] && alive "$(pid_of "$RUN/haproxy.pid")" || die "HAProxy is not running: deploy/local/up.sh first"
mapfile -t ks < <(replicas)
((${#ks[@]})) || die "no replicas in ${RUN#"$ROOT"/}/"

for k in "${ks[@]}"; do
  t0=$(date +%s%N)
  old="$(pid_of "$RUN/replica-$k.pid")"
  hactl "disable server $BACKEND/r$k" >/dev/null
  # Wait for HAProxy's sessions on it (requests in flight through it) to end.
  for ((i = 0; i < drain_s * 10; i++)); do
    [ "$(server_field "$k" 5)" = 0 ] && break
    sleep 0.1
  done
  stop_pid "$old" "$drain_s"
  start_replica "$k"
  if ! wait_ready "$k" 120; then
    hactl "enable server $BACKEND/r$k" >/dev/null || true
    die "replica $k did not come back (${RUN#"$ROOT"/}/replica-$k.log); the others still serve"
  fi
  hactl "enable server $BACKEND/r$k" >/dev/null
  wait_status "$k" UP 30 || die "HAProxy did not take replica $k back"
  say "r$k: pid $old -> $(pid_of "$RUN/replica-$k.pid") in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
done
say "rolled ${#ks[@]} replica(s)"
