#!/usr/bin/env bash
# Runs the whole stack in the foreground: redis-server, wnc-fcgi, wnc-pushd, nginx + nchan, all
# on loopback under one run directory. Prints the URL once /health answers; Ctrl-C or SIGTERM
# stops every process it started. Used by `make run`, the tests and the benchmarks.
#
# It supervises wnc-fcgi and wnc-pushd: one that exits is started again after a pause (0.2 s,
# doubling up to 5 s; back to 0.2 s once it had run 30 s), logged on stderr and in its log.
# nginx or Redis exiting, or a daemon exiting within 1 s of its start 5 times in a row, stops
# the whole stack: a half-running stack hides failures. $RUN_DIR/fcgi.pid and pushd.pid name
# the running process.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

export PORT=${PORT:-8080}
export WNC_HOST=${WNC_HOST:-127.0.0.1}
# Defaults that let a second `PORT=8081 make run` live beside the first: its own run
# directory and Redis port (6390 + PORT - 8080).
if [ "$PORT" = 8080 ]; then RUN_DIR=${WNC_RUN_DIR:-$ROOT/var}; else RUN_DIR=${WNC_RUN_DIR:-$ROOT/var/$PORT}; fi
mkdir -p "$RUN_DIR"
export RUN_DIR=$(cd "$RUN_DIR" && pwd)
export REDIS_PORT=${REDIS_PORT:-$((6390 + PORT - 8080))}
# The daemons reach the private Redis on its unix socket (a host that is a path: cheaper round
# trips than loopback TCP, which stays open for redis-cli and the tests); an external Redis
# (WNC_REDIS_EXTERNAL=1) at WNC_REDIS_HOST, 127.0.0.1 unless set.
REDIS_SOCKET=$RUN_DIR/redis.sock
if [ "${WNC_REDIS_EXTERNAL:-0}" = 1 ]; then
  export WNC_REDIS_HOST=${WNC_REDIS_HOST:-127.0.0.1}
else
  export WNC_REDIS_HOST=${WNC_REDIS_HOST:-$REDIS_SOCKET}
fi
export WNC_REDIS_PORT=$REDIS_PORT
export WNC_BIN_DIR=${WNC_BIN_DIR:-$ROOT/build}
export WNC_SQL_DIR=${WNC_SQL_DIR:-$ROOT/sql}
export WNC_FCGI_SOCKET=$RUN_DIR/fcgi.sock
export WNC_PUBLISH_SOCKET=$RUN_DIR/publish.sock
export WNC_NGINX_PID=${WNC_NGINX_PID:-$RUN_DIR/nginx.pid}
export WNC_REDIS_APPENDONLY=${WNC_REDIS_APPENDONLY:-yes}
export NGINX_WORKERS=${WNC_NGINX_WORKERS:-} # empty: render-nginx.sh decides
export WS_PING_S=${WNC_WS_PING_S:-15}
# A long-poll ends after half the presence grace period (see wnc-site.conf.in).
export POLL_TIMEOUT_S=$(( ${WNC_GRACE_MS:-30000} / 2000 > 0 ? ${WNC_GRACE_MS:-30000} / 2000 : 1 ))
export LISTEN=$WNC_HOST:$PORT
export WEB_ROOT=${WNC_WEB_ROOT:-$ROOT/web}
export CONF_DIR=$RUN_DIR
export ACCESS_LOG=${WNC_ACCESS_LOG:-$RUN_DIR/logs/access.log}
export ERROR_LOG=$RUN_DIR/logs/nginx-error.log

# nginx's workers never run as root: started as root, they drop to nobody/nogroup, which must
# reach the run directory and the FastCGI socket (given to that group) and read the web root.
NGINX_USER=""
if [ "$(id -u)" = 0 ]; then
  NGINX_USER=nobody; NGINX_GROUP=nogroup
  export WNC_FCGI_SOCKET_GROUP=$NGINX_GROUP
  chmod 0711 "$RUN_DIR"
  if ! runuser -u "$NGINX_USER" -- test -x "$RUN_DIR"; then
    echo "stack: $NGINX_USER cannot reach $RUN_DIR (a parent directory is closed to others);" \
         "set WNC_RUN_DIR to a directory under /tmp or /run" >&2
    exit 1
  fi
  if ! runuser -u "$NGINX_USER" -- test -r "$WEB_ROOT/index.html"; then
    # A checkout in a private directory: serve a readable copy of the front end instead.
    rm -rf "$RUN_DIR/web" && cp -R "$WEB_ROOT" "$RUN_DIR/web" && chmod -R a+rX "$RUN_DIR/web"
    export WEB_ROOT=$RUN_DIR/web
  fi
fi

# As many descriptors as the hard limit allows: every viewer holds one in nginx.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export NOFILE=$(ulimit -n)
export WORKER_CONNECTIONS=$(( NOFILE > 1124 ? NOFILE - 100 : 1024 ))

# ---- processes ----------------------------------------------------------------------------
# By name (redis, fcgi, pushd, nginx): the pid ("" while a daemon waits to restart), when it
# started (ms), its next restart pause (ms), its quick exits in a row, its restart timer's pid.
declare -A pid=() started=() backoff=() quick=() timer=()
stopping=0
SUPERVISED="fcgi pushd"
BACKOFF_MIN_MS=200
BACKOFF_MAX_MS=5000
STABLE_MS=30000      # a daemon that ran this long starts again from BACKOFF_MIN_MS
QUICK_MS=1000        # an exit this soon after the start counts as "cannot start"
QUICK_MAX=5          # that many in a row stop the stack

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $(( 10#$t / 1000 )); }
secs() { if (( $1 % 1000 == 0 )); then echo $(( $1 / 1000 )); else echo "$(( $1 / 1000 )).$(( $1 % 1000 / 100 ))"; fi; }

# Logs one line on the stack's stderr and, given a daemon's name, in that daemon's log too
# (same layout as its own lines).
say() {
  local level=$1 name=$2; shift 2
  echo "stack: $*" >&2
  if [ -n "$name" ]; then
    echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) stack[$$] $level: $*" >> "$RUN_DIR/logs/$name.log"
  fi
}

# Starts wnc-$1 (fcgi or pushd) in its own session, so that a Ctrl-C reaches only this script,
# which stops the children in order.
start_daemon() {
  local name=$1
  setsid "$WNC_BIN_DIR/wnc-$name" 2>>"$RUN_DIR/logs/$name.log" &
  pid[$name]=$!
  started[$name]=$(now_ms)
  echo "${pid[$name]}" > "$RUN_DIR/$name.pid"
}

# How a child ended, from wait's status.
how() { if (( $1 > 128 )); then echo "signal $(( $1 - 128 ))"; else echo "status $1"; fi; }

# A supervised daemon exited with status $2: schedules its restart (a sleep the main loop
# waits on along with the children), or returns 1 when it cannot even start.
daemon_exited() {
  local name=$1 ran delay
  ran=$(( $(now_ms) - started[$name] ))
  pid[$name]=""
  if (( ran < QUICK_MS )); then quick[$name]=$(( ${quick[$name]:-0} + 1 )); else quick[$name]=0; fi
  if (( quick[$name] >= QUICK_MAX )); then
    say error "$name" "wnc-$name exited ($(how "$2")) within $(secs $QUICK_MS) s of its start" \
        "$QUICK_MAX times in a row; stopping"
    return 1
  fi
  if (( ran >= STABLE_MS )) || [ -z "${backoff[$name]:-}" ]; then backoff[$name]=$BACKOFF_MIN_MS; fi
  delay=${backoff[$name]}
  backoff[$name]=$(( delay * 2 < BACKOFF_MAX_MS ? delay * 2 : BACKOFF_MAX_MS ))
  say warn "$name" "wnc-$name exited ($(how "$2")); restarting in $(secs "$delay") s"
  sleep "$(secs "$delay")" &
  timer[$name]=$!
}

# Waits until process $1 is gone, at most $2 ms. Returns 1 if it is still there.
wait_gone() {
  local deadline=$(( $(now_ms) + $2 ))
  while kill -0 "$1" 2>/dev/null; do
    (( $(now_ms) < deadline )) || return 1
    sleep 0.05
  done
}

# Signals process $1 with each of the following signals in turn, each followed by a wait of at
# most the given ms, until it is gone: term_then PID TERM 5000 KILL 1000.
term_then() {
  local p=$1; shift
  [ -n "$p" ] || return 0
  while [ $# -ge 2 ]; do
    kill "-$1" "$p" 2>/dev/null || return 0
    wait_gone "$p" "$2" && return 0
    shift 2
  done
}

# nchan's inter-worker alerts still in transit or queued (stub status), "" if it cannot tell.
nchan_alerts() {
  curl -s --max-time 1 --unix-socket "$WNC_PUBLISH_SOCKET" http://wnc/status 2>/dev/null |
    awk -F': *' '/^interprocess alerts in transit:|^interprocess queued alerts:/ { n += $2; seen++ }
                 END { if (seen == 2) print n }'
}

# Peer addresses of the public port's connections with unsent data, in two looks 0.1 s apart:
# clients that stopped reading (once nothing is published any more, every other stream drains
# at once; an API answer on its way shows in one look only).
unsent_peers() {
  ss -Htn state established "( sport = :$PORT )" 2>/dev/null | awk '$2 > 0 { print $4 }' | sort
}
stalled_clients() { comm -12 <(unsent_peers) <(sleep 0.1; unsent_peers); }

# Stops everything in the order that keeps nchan 1.3.6 from freeing messages another worker
# still holds ("MEMSTORE force-reaping msg with refcount", then a crash; see NCHAN.md):
#  1. wnc-pushd and wnc-fcgi: nothing is published any more (wnc-fcgi answers the requests in
#     flight and sends the events it queued before it exits);
#  2. nchan's inter-worker alerts in transit and queued drain to 0;
#  3. clients that stopped reading are cut off (a worker's unsent backlog pins messages that the
#     channel's owner, another worker, frees when it exits; send_timeout never fires while
#     nchan's WebSocket pings keep writing);
#  4. nginx quits gracefully, then is terminated, then killed;
#  5. Redis last.
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # A second Ctrl-C must not abandon the children half-way; each step below is bounded.
  trap '' INT TERM
  local n t0 stalled total left
  for n in "${!timer[@]}"; do if [ -n "${timer[$n]}" ]; then kill "${timer[$n]}" 2>/dev/null || true; fi; done
  # Both daemons at once; wnc-fcgi bounds its own stop (10 s for requests, 5 s for the queue).
  for n in $SUPERVISED; do if [ -n "${pid[$n]:-}" ]; then kill -TERM "${pid[$n]}" 2>/dev/null || true; fi; done
  for n in $SUPERVISED; do term_then "${pid[$n]:-}" TERM 20000 KILL 1000; done
  if [ -n "${pid[nginx]:-}" ] && kill -0 "${pid[nginx]}" 2>/dev/null; then
    t0=$(now_ms)
    while [ "$(nchan_alerts)" != 0 ] && (( $(now_ms) - t0 < 5000 )); do sleep 0.05; done
    t0=$(now_ms)
    while stalled=$(stalled_clients) && [ -n "$stalled" ] && (( $(now_ms) - t0 < 1000 )); do :; done
    if [ -n "$stalled" ]; then
      for n in $stalled; do
        ss -K state established "( sport = :$PORT )" dst "$n" >/dev/null 2>&1 || true
      done
      total=$(wc -w <<< "$stalled")
      left=$(comm -12 <(echo "$stalled") <(stalled_clients) | wc -l)
      echo "stack: cut off $(( total - left )) of $total client(s) that stopped reading" >&2
      if (( left > 0 )); then
        echo "stack: ss -K needs CAP_NET_ADMIN; nginx may log force-reaping as it quits" >&2
      fi
    fi
    term_then "${pid[nginx]}" QUIT 15000 TERM 5000 KILL 1000
  fi
  term_then "${pid[redis]:-}" TERM 5000 KILL 1000
  wait 2>/dev/null || true
  rm -f "$WNC_FCGI_SOCKET" "$WNC_PUBLISH_SOCKET" "$RUN_DIR/stack.pid"
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# One stack per run directory: a second one would take over the first one's sockets.
if [ -f "$RUN_DIR/stack.pid" ] && kill -0 "$(cat "$RUN_DIR/stack.pid")" 2>/dev/null; then
  echo "stack: already running in $RUN_DIR (pid $(cat "$RUN_DIR/stack.pid"))" >&2
  trap - EXIT
  exit 1
fi
echo $$ > "$RUN_DIR/stack.pid"
mkdir -p "$RUN_DIR"/{logs,tmp,redis}
rm -f "$WNC_FCGI_SOCKET" "$WNC_PUBLISH_SOCKET"

# Redis: private, loopback and its unix socket only, AOF on (unless a test turns it off for
# speed). With WNC_REDIS_EXTERNAL=1 an already running Redis at WNC_REDIS_HOST:REDIS_PORT is
# used instead.
# Children run in their own sessions (setsid) so that a Ctrl-C reaches only this script, which
# then stops them in order (stop_all).
if [ "${WNC_REDIS_EXTERNAL:-0}" = 1 ]; then :; else
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
  --unixsocket "$REDIS_SOCKET" --unixsocketperm 700 \
  --appendonly "$WNC_REDIS_APPENDONLY" --save "" --daemonize no \
  --logfile "$RUN_DIR/logs/redis.log" &
pid[redis]=$!; echo $! > "$RUN_DIR/redis.pid"
fi
for _ in $(seq 100); do
  case "$WNC_REDIS_HOST" in
    /*) redis-cli -s "$WNC_REDIS_HOST" ping >/dev/null 2>&1 && break ;;
    *) redis-cli -h "$WNC_REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break ;;
  esac
  sleep 0.05
done

for n in $SUPERVISED; do start_daemon "$n"; done

"$ROOT/scripts/render-nginx.sh" "$ROOT/nginx/wnc-site.conf.in" > "$RUN_DIR/wnc-site.conf"
cp "$ROOT/nginx/wnc-fastcgi.conf" "$ROOT/nginx/wnc-headers.conf" "$RUN_DIR/"
{
  if [ -n "$NGINX_USER" ]; then echo "user $NGINX_USER $NGINX_GROUP;"; fi
  "$ROOT/scripts/render-nginx.sh" "$ROOT/nginx/nginx.conf.in"
} > "$RUN_DIR/nginx.conf"
setsid nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/nginx-error.log" &
pid[nginx]=$!

# Startup is strict: any process exiting before /health answers stops the stack.
URL="http://$WNC_HOST:$PORT"
for i in $(seq 200); do
  if curl -fsS -o /dev/null "$URL/health" 2>/dev/null; then break; fi
  for p in "${pid[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "stack: a process exited during startup; see $RUN_DIR/logs" >&2; exit 1; }
  done
  [ "$i" = 200 ] && { echo "stack: /health did not answer; see $RUN_DIR/logs" >&2; exit 1; }
  sleep 0.05
done
echo "Watch N Chill is running at $URL/  (logs: $RUN_DIR/logs; Ctrl-C stops it)"

# Supervision: wait for any child or restart timer. A signal runs its trap (stop_all) instead.
while :; do
  watch=()
  for n in "${!pid[@]}"; do if [ -n "${pid[$n]}" ]; then watch+=("${pid[$n]}"); fi; done
  for n in "${!timer[@]}"; do if [ -n "${timer[$n]}" ]; then watch+=("${timer[$n]}"); fi; done
  dead=""; status=0
  # (bash's own "Killed" notice would duplicate ours)
  wait -n -p dead "${watch[@]}" 2>/dev/null || status=$?
  [ -n "$dead" ] || continue
  for n in "${!timer[@]}"; do
    if [ "${timer[$n]}" = "$dead" ]; then timer[$n]=""; start_daemon "$n"; continue 2; fi
  done
  for n in "${!pid[@]}"; do
    [ "${pid[$n]}" = "$dead" ] || continue
    case " $SUPERVISED " in
      *" $n "*) daemon_exited "$n" "$status" && continue 2 ;;
      *) pid[$n]=""; say error "" "$n exited ($(how "$status")); stopping" ;;
    esac
    exit 1
  done
done
