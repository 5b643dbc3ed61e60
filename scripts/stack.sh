#!/usr/bin/env bash
# Runs the whole stack in the foreground: redis-server, wnc-fcgi, wnc-pushd, nginx + nchan, all
# on loopback under one run directory. Prints the URL once /health answers; Ctrl-C or SIGTERM
# stops every process it started. Used by `make run`, the tests and the benchmarks.
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
export WNC_REDIS_HOST=${WNC_REDIS_HOST:-127.0.0.1}
export WNC_REDIS_PORT=$REDIS_PORT
export WNC_BIN_DIR=${WNC_BIN_DIR:-$ROOT/build}
export WNC_SQL_DIR=${WNC_SQL_DIR:-$ROOT/sql}
export WNC_FCGI_SOCKET=$RUN_DIR/fcgi.sock
export WNC_PUBLISH_SOCKET=$RUN_DIR/publish.sock
export WNC_REDIS_APPENDONLY=${WNC_REDIS_APPENDONLY:-yes}
export NGINX_WORKERS=${WNC_NGINX_WORKERS:-auto}
export WS_PING_S=${WNC_WS_PING_S:-5}
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

pids=()
stopping=0
stop_all() {
  [ "$stopping" = 1 ] && return
  stopping=1
  # nginx first (no new requests), then the workers and pushd, Redis last.
  for ((i=${#pids[@]}-1; i>=0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
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

# Redis: private, loopback only, AOF on (unless a test turns it off for speed). With
# WNC_REDIS_EXTERNAL=1 an already running Redis at WNC_REDIS_HOST:REDIS_PORT is used instead.
if [ "${WNC_REDIS_EXTERNAL:-0}" = 1 ]; then :; else
# Children run in their own sessions (setsid) so that a Ctrl-C reaches only this script,
# which then stops them in order: nginx first, Redis last.
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$RUN_DIR/redis" \
  --appendonly "$WNC_REDIS_APPENDONLY" --save "" --daemonize no \
  --logfile "$RUN_DIR/logs/redis.log" &
pids+=($!); echo $! > "$RUN_DIR/redis.pid"
fi
for _ in $(seq 100); do
  redis-cli -h "$WNC_REDIS_HOST" -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05
done

setsid "$WNC_BIN_DIR/wnc-fcgi" 2>>"$RUN_DIR/logs/fcgi.log" &
pids+=($!); echo $! > "$RUN_DIR/fcgi.pid"
setsid "$WNC_BIN_DIR/wnc-pushd" 2>>"$RUN_DIR/logs/pushd.log" &
pids+=($!); echo $! > "$RUN_DIR/pushd.pid"

"$ROOT/scripts/render-nginx.sh" "$ROOT/nginx/wnc-site.conf.in" > "$RUN_DIR/wnc-site.conf"
cp "$ROOT/nginx/wnc-fastcgi.conf" "$ROOT/nginx/wnc-headers.conf" "$RUN_DIR/"
{
  if [ -n "$NGINX_USER" ]; then echo "user $NGINX_USER $NGINX_GROUP;"; fi
  "$ROOT/scripts/render-nginx.sh" "$ROOT/nginx/nginx.conf.in"
} > "$RUN_DIR/nginx.conf"
setsid nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/nginx-error.log" &
pids+=($!)

URL="http://$WNC_HOST:$PORT"
for i in $(seq 200); do
  if curl -fsS -o /dev/null "$URL/health" 2>/dev/null; then break; fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || { echo "stack: a process exited during startup; see $RUN_DIR/logs" >&2; exit 1; }
  done
  [ "$i" = 200 ] && { echo "stack: /health did not answer; see $RUN_DIR/logs" >&2; exit 1; }
  sleep 0.05
done
echo "Watch N Chill is running at $URL/  (logs: $RUN_DIR/logs; Ctrl-C stops it)"

# Any process dying takes the whole stack down: a half-running stack hides failures.
wait -n "${pids[@]}" || true
[ "$stopping" = 1 ] || echo "stack: a process exited; stopping" >&2
exit 1
