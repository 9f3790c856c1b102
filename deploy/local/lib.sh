# Shared by up.sh, rolling-restart.sh, down.sh and status.sh: where things are, starting one
# replica, asking HAProxy. Everything lives in deploy/local/run/:
#   replica-K.pid  replica-K.port  replica-K.log   one per replica (K = 1..N)
#   haproxy.pid  haproxy.cfg  haproxy.sock           HAProxy, its config, its admin socket
#   settings.sh                                      what up.sh was asked (model, serve args)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
RUN="$HERE/run"
FERRY_JS="$ROOT/dist/cli/main.js"
BACKEND=replicas

say() { printf '%s\n' "$*" >&2; }
die() { say "$(basename "$0"): $*"; exit 1; }

# Is process $1 running (a zombie, exited but not yet reaped by the shell that started it, is not)?
alive() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/stat" ] || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat%% *}" != Z ]
}
pid_of() { cat "$1" 2>/dev/null || true; }

# The replica numbers up.sh started (from their port files), in order.
replicas() {
  local f
  for f in "$RUN"/replica-*.port; do
    [ -e "$f" ] || continue
    f="${f##*/replica-}"
    printf '%s\n' "${f%.port}"
  done | sort -n
}

# N free loopback ports, one a line.
free_ports() {
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]);
    const held = [];
    (async () => {
      for (let i = 0; i < n; i++) {
        const s = net.createServer();
        await new Promise((r) => s.listen(0, "127.0.0.1", r));
        held.push(s);
      }
      console.log(held.map((s) => s.address().port).join("\n"));
      for (const s of held) s.close();
    })();' "$1"
}

# Starts replica K on its port in the background; writes run/replica-K.pid.
start_replica() {
  local k="$1" port
  port="$(cat "$RUN/replica-$k.port")"
  # shellcheck source=/dev/null
  source "$RUN/settings.sh"
  nohup node "$FERRY_JS" serve "$MODEL" --host 127.0.0.1 --port "$port" "${SERVE_ARGS[@]}" >>"$RUN/replica-$k.log" 2>&1 </dev/null &
  echo $! >"$RUN/replica-$k.pid"
}

# Waits until replica K answers 200 on /v2/health/ready (all its models loaded); fails if it exits.
wait_ready() {
  local k="$1" timeout_s="${2:-120}" port pid i
  port="$(cat "$RUN/replica-$k.port")"
  pid="$(pid_of "$RUN/replica-$k.pid")"
  for ((i = 0; i < timeout_s * 10; i++)); do
    if ! alive "$pid"; then
      say "replica $k (pid $pid) exited before it was ready; the end of run/replica-$k.log:"
      tail -n 5 "$RUN/replica-$k.log" >&2
      return 1
    fi
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/health/ready")" = 200 ]; then return 0; fi
    sleep 0.1
  done
  say "replica $k was not ready after ${timeout_s}s (run/replica-$k.log)"
  return 1
}

# Sends a command to HAProxy's admin socket.
hactl() { node "$HERE/haproxy-ctl.mjs" "$1" "$RUN/haproxy.sock"; }

# A field of server rK's line in `show stat` (CSV: pxname,svname,qcur,qmax,scur,...,status is 18th).
server_field() {
  local k="$1" col="$2"
  hactl "show stat" | awk -F, -v b="$BACKEND" -v s="r$k" -v c="$col" '$1 == b && $2 == s { print $c }'
}

# Waits until rK's status in HAProxy is $2 (UP, DOWN, MAINT).
wait_status() {
  local k="$1" want="$2" timeout_s="${3:-30}" i st
  for ((i = 0; i < timeout_s * 10; i++)); do
    st="$(server_field "$k" 18)"
    [ "${st%% *}" = "$want" ] && return 0
    sleep 0.1
  done
  say "HAProxy never showed r$k as $want (last: $st)"
  return 1
}

# Stops a process: SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
  local pid="$1" grace_s="${2:-40}" i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace_s * 10; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  say "pid $pid still running ${grace_s}s after SIGTERM: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}
