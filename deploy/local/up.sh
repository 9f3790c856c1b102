#!/usr/bin/env bash
# Starts N `ferry serve` replicas on free loopback ports and HAProxy in front of them on PORT.
#
#   deploy/local/up.sh --replicas 2 --port 8000 [--model PATH] [--host ADDR] [--stats-port N] [-- SERVE FLAGS...]
#
# HAProxy checks each replica's /v2/health/ready every 500 ms (2 failures: out, 2 successes: in),
# retries a request that could not connect or got no answer on another replica
# (`retry-on conn-failure empty-response`, `option redispatch`: inference is idempotent), and
# takes admin commands on deploy/local/run/haproxy.sock (status.sh, rolling-restart.sh use it).
# PIDs: deploy/local/run/replica-K.pid (K = 1..N) and deploy/local/run/haproxy.pid.
# Each replica gets --threads cores/N unless SERVE FLAGS set --threads. Stop with down.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

replicas_n=2 port=8000 host=127.0.0.1 model="$ROOT/examples/fashion" stats_port=""
serve_args=()
while (($#)); do
  case "$1" in
    --replicas) replicas_n="${2:?--replicas needs a number}"; shift 2 ;;
    --port) port="${2:?--port needs a number}"; shift 2 ;;
    --host) host="${2:?--host needs an address}"; shift 2 ;;
    --model) model="$(cd "$(dirname "${2:?--model needs a path}")" && pwd)/$(basename "$2")"; shift 2 ;;
    --stats-port) stats_port="${2:?--stats-port needs a number}"; shift 2 ;;
    --) shift; serve_args=("$@"); break ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (--replicas N --port P [--model PATH] [--host ADDR] [--stats-port N] [-- SERVE FLAGS])" ;;
  esac
done
[[ "$replicas_n" =~ ^[1-9][0-9]*$ ]] || die "--replicas must be a whole number >= 1 (got \"$replicas_n\")"
[[ "$port" =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "--port must be a port from 1 to 65535 (got \"$port\")"
command -v haproxy >/dev/null || die "haproxy is not installed (Debian: apt-get install haproxy)"
command -v curl >/dev/null || die "curl is not installed (Debian: apt-get install curl)"
[ -f "$FERRY_JS" ] || die "$FERRY_JS is missing: build first (npm run build)"
[ -e "$model" ] || die "--model $model does not exist"
for f in "$RUN"/*.pid; do
  [ -e "$f" ] || continue
  if alive "$(pid_of "$f")"; then die "already running (${f#"$ROOT"/} holds a live pid): run deploy/local/down.sh first"; fi
done
rm -rf "$RUN"
mkdir -p "$RUN"

# Replicas share the cores: each gets cores/N intra-op threads unless told otherwise.
threads=()
if ! printf '%s\n' "${serve_args[@]}" | grep -q -- '^--threads'; then
  threads=(--threads "$(( $(nproc) / replicas_n > 0 ? $(nproc) / replicas_n : 1 ))")
fi
{
  printf 'MODEL=%q\n' "$model"
  printf 'SERVE_ARGS=('; printf '%q ' --log-level warn "${threads[@]}" "${serve_args[@]}"; printf ')\n'
} >"$RUN/settings.sh"

mapfile -t ports < <(free_ports "$replicas_n")
for ((k = 1; k <= replicas_n; k++)); do
  echo "${ports[k - 1]}" >"$RUN/replica-$k.port"
  start_replica "$k"
done
failed=0
for ((k = 1; k <= replicas_n; k++)); do wait_ready "$k" || failed=1; done
if ((failed)); then
  "$HERE/down.sh" >/dev/null 2>&1 || true
  die "a replica did not start (logs in ${RUN#"$ROOT"/}/)"
fi

servers=""
for ((k = 1; k <= replicas_n; k++)); do servers+="    server r$k 127.0.0.1:${ports[k - 1]}"$'\n'; done
stats=""
if [ -n "$stats_port" ]; then
  stats="
listen stats
    bind $host:$stats_port
    stats enable
    stats uri /
    stats refresh 2s
"
fi
cat >"$RUN/haproxy.cfg" <<CFG
# Written by deploy/local/up.sh.
global
    maxconn 4096
    nbthread 1
    stats socket $RUN/haproxy.sock mode 600 level admin

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    timeout http-keep-alive 10s
    # A request that could not connect, or whose replica closed without answering (it died or
    # closed the connection as it stopped), goes to another replica: inference is idempotent.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    # The whole request is read first so that it can be sent again.
    option http-buffer-request

frontend ferry
    bind $host:$port
    default_backend $BACKEND

backend $BACKEND
    balance leastconn
    option httpchk
    http-check send meth GET uri /v2/health/ready ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
$servers$stats
CFG
haproxy -c -q -f "$RUN/haproxy.cfg" || { "$HERE/down.sh" >/dev/null 2>&1 || true; die "HAProxy refused ${RUN#"$ROOT"/}/haproxy.cfg"; }
if ! haproxy -D -f "$RUN/haproxy.cfg" -p "$RUN/haproxy.pid" 2>"$RUN/haproxy.log"; then
  "$HERE/down.sh" >/dev/null 2>&1 || true
  die "HAProxy did not start: $(tail -n 3 "$RUN/haproxy.log")"
fi
for ((k = 1; k <= replicas_n; k++)); do wait_status "$k" UP 30 || { "$HERE/down.sh" >/dev/null 2>&1 || true; die "HAProxy never saw replica $k up"; }; done

say "ferry: $replicas_n replica(s) behind HAProxy on http://$host:$port"
for ((k = 1; k <= replicas_n; k++)); do say "  r$k  pid $(pid_of "$RUN/replica-$k.pid")  http://127.0.0.1:${ports[k - 1]}"; done
say "  haproxy  pid $(pid_of "$RUN/haproxy.pid")  admin socket ${RUN#"$ROOT"/}/haproxy.sock${stats_port:+  stats http://$host:$stats_port/}"
say "status: deploy/local/status.sh   rolling restart: deploy/local/rolling-restart.sh   stop: deploy/local/down.sh"
