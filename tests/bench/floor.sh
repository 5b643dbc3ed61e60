#!/usr/bin/env bash
# tests/bench/floor.sh - runs the floor of `make bench` in the foreground, the way
# scripts/stack.sh runs the stack: wnc-fcgi-echo (as many threads as wnc-fcgi would have) and
# nginx + nchan with tests/bench/floor.conf.in, under one run directory on loopback. SIGTERM or
# SIGINT stops both. Environment: PORT, WNC_RUN_DIR (required), WNC_HOST, WNC_BIN_DIR,
# WNC_WORKERS, WNC_NGINX_WORKERS, as for the stack.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${PORT:?PORT is required}" "${WNC_RUN_DIR:?WNC_RUN_DIR is required}"
mkdir -p "$WNC_RUN_DIR"
export RUN_DIR=$(cd "$WNC_RUN_DIR" && pwd)
export WNC_HOST=${WNC_HOST:-127.0.0.1}
export LISTEN=$WNC_HOST:$PORT
export NGINX_WORKERS=${WNC_NGINX_WORKERS:-} # empty: render-nginx.sh decides
export WS_PING_S=${WNC_WS_PING_S:-15} WEB_ROOT=$RUN_DIR CONF_DIR=$RUN_DIR
export ACCESS_LOG=$RUN_DIR/logs/access.log ERROR_LOG=$RUN_DIR/logs/nginx-error.log
BIN_DIR=${WNC_BIN_DIR:-$ROOT/build}
mkdir -p "$RUN_DIR"/{logs,tmp}
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export NOFILE=$(ulimit -n)
export WORKER_CONNECTIONS=$(( NOFILE > 1124 ? NOFILE - 100 : 1024 ))
# The stack's thread count (WNC_WORKERS, 0 = twice the cores, at least 4; see render-nginx.sh).
THREADS=${WNC_WORKERS:-0}
if [ "$THREADS" = 0 ]; then
  CORES=$(nproc 2>/dev/null || echo 2)
  THREADS=$(( CORES * 2 > 4 ? CORES * 2 : 4 ))
fi

ECHO_PID= NGINX_PID=
stop_all() {
  trap '' INT TERM
  if [ -n "$NGINX_PID" ]; then
    kill -QUIT "$NGINX_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$NGINX_PID" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$NGINX_PID" 2>/dev/null || true
  fi
  if [ -n "$ECHO_PID" ]; then kill -TERM "$ECHO_PID" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

rm -f "$RUN_DIR/echo.sock"
setsid "$BIN_DIR/wnc-fcgi-echo" "$RUN_DIR/echo.sock" "$THREADS" 2>>"$RUN_DIR/logs/echo.log" &
ECHO_PID=$!
echo "$ECHO_PID" >"$RUN_DIR/echo.pid"
for _ in $(seq 100); do [ -S "$RUN_DIR/echo.sock" ] && break; sleep 0.02; done
[ -S "$RUN_DIR/echo.sock" ] || { echo "floor: wnc-fcgi-echo did not start" >&2; exit 1; }

# Our FastCGI settings as they are in the tree: the upstream block of wnc-site.conf.in (with
# the echo socket) and wnc-fastcgi.conf. If ours gains upstream keepalive or keep_conn, so does
# the floor.
awk '/^upstream wnc_fcgi \{/ { on = 1 } on { print } on && /^\}/ { exit }' \
  "$ROOT/nginx/wnc-site.conf.in" | sed 's|unix:@RUN_DIR@/fcgi.sock|unix:@RUN_DIR@/echo.sock|' \
  >"$RUN_DIR/floor-upstream.conf.in"
grep -q 'echo.sock' "$RUN_DIR/floor-upstream.conf.in" ||
  { echo "floor: no 'upstream wnc_fcgi { server unix:@RUN_DIR@/fcgi.sock ...' in wnc-site.conf.in" >&2; exit 1; }
"$ROOT/scripts/render-nginx.sh" "$RUN_DIR/floor-upstream.conf.in" >"$RUN_DIR/floor-upstream.conf"
cp "$ROOT/nginx/wnc-fastcgi.conf" "$RUN_DIR/"
{
  if [ "$(id -u)" = 0 ]; then echo "user nobody nogroup;"; fi
  "$ROOT/scripts/render-nginx.sh" "$ROOT/tests/bench/floor.conf.in"
} >"$RUN_DIR/nginx.conf"
setsid nginx -p "$RUN_DIR" -c "$RUN_DIR/nginx.conf" -e "$RUN_DIR/logs/nginx-error.log" &
NGINX_PID=$!

for i in $(seq 200); do
  if curl -fsS -o /dev/null "http://$LISTEN/health" 2>/dev/null; then break; fi
  kill -0 "$NGINX_PID" 2>/dev/null && kill -0 "$ECHO_PID" 2>/dev/null ||
    { echo "floor: a process exited during startup; see $RUN_DIR/logs" >&2; exit 1; }
  [ "$i" = 200 ] && { echo "floor: nginx did not answer; see $RUN_DIR/logs" >&2; exit 1; }
  sleep 0.05
done
echo "floor is running at http://$LISTEN/ (logs: $RUN_DIR/logs)"
# Either process exiting ends the floor: a half floor would measure nothing.
wait -n "$NGINX_PID" "$ECHO_PID" || true
echo "floor: a process exited; stopping" >&2
exit 1
