#!/usr/bin/env bash
# `make run-cluster`: the scale-out shape on one machine, in the foreground (docs/scaling.md).
#   - a Redis Cluster of 3 masters and 3 replicas on loopback, ports WNC_CLUSTER_REDIS_PORT
#     (default PORT + 101, so 8181 to 8186 for PORT 8080), cluster bus ports 10000 above, data in
#     $RUN_DIR/redis-<port>;
#   - WNC_INSTANCES (default 2) full instances (scripts/stack.sh: nginx+nchan, wnc-fcgi,
#     wnc-pushd) on PORT+1 ... PORT+N, run directories $RUN_DIR/<i>, all on the cluster
#     (WNC_REDIS_CLUSTER) with nchan's Redis storage (WNC_NCHAN_REDIS);
#   - a balancer (nginx, nginx/balancer.conf.in) on PORT, round-robin, no stickiness, which the
#     instances trust for X-Forwarded-For (WNC_TRUSTED_PROXIES=127.0.0.1).
# The instances' nginx loads nchan 1.3.7, built once by scripts/nchan-build.sh.
# Prints the URLs once the balancer answers /health; Ctrl-C or SIGTERM stops everything it
# started. An instance that stops (its nginx killed) is reported and the rest keep running.
# RUN_DIR: WNC_RUN_DIR, default var/cluster-$PORT. WNC_CLUSTER_NODE_TIMEOUT_MS (default 2000):
# Redis' cluster-node-timeout, after which a replica takes over a silent master.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

PORT=${PORT:-8080}
INSTANCES=${WNC_INSTANCES:-2}
REDIS_BASE=${WNC_CLUSTER_REDIS_PORT:-$(( PORT + 101 ))}
NODE_TIMEOUT_MS=${WNC_CLUSTER_NODE_TIMEOUT_MS:-2000}
RUN_DIR=${WNC_RUN_DIR:-$ROOT/var/cluster-$PORT}
case "$INSTANCES" in ''|*[!0-9]*) echo "cluster: WNC_INSTANCES must be a number" >&2; exit 2 ;; esac
[ "$INSTANCES" -ge 1 ] && [ "$INSTANCES" -le 16 ] || { echo "cluster: WNC_INSTANCES must be 1 to 16" >&2; exit 2; }
# The instances load nchan 1.3.7 with our fix (scripts/nchan-build.sh, cached after its first
# build): after a master's failover Debian's 1.3.6, and 1.3.7 unpatched, could switch a worker
# to a renamed SPUBLISH and fail its publishes (docs/nchan-notes.md). WNC_NCHAN_MODULE names
# another module.
WNC_NCHAN_MODULE=${WNC_NCHAN_MODULE:-$("$ROOT/scripts/nchan-build.sh")}
export WNC_NCHAN_MODULE
mkdir -p "$RUN_DIR"/{balancer/logs,balancer/tmp}
RUN_DIR=$(cd "$RUN_DIR" && pwd)
[ "$(id -u)" = 0 ] && chmod 0711 "$RUN_DIR"

REDIS_PORTS=() SEEDS=""
for i in 0 1 2 3 4 5; do
  REDIS_PORTS+=($(( REDIS_BASE + i )))
  SEEDS="${SEEDS:+$SEEDS,}127.0.0.1:$(( REDIS_BASE + i ))"
done

# An instance's stack.sh stops its own processes; one that is still stopping after 15 s (its
# nginx killed under it, say) has them ended by their pid files.
stop_instances() {
  local i dir sp f p
  for i in $(seq "$INSTANCES"); do
    sp=$(cat "$RUN_DIR/$i/stack.pid" 2>/dev/null) &&
      grep -qs scripts/stack.sh "/proc/$sp/cmdline" && kill -TERM "$sp" 2>/dev/null
  done
  for i in $(seq "$INSTANCES"); do
    dir="$RUN_DIR/$i"
    sp=$(cat "$dir/stack.pid" 2>/dev/null) || continue
    grep -qs scripts/stack.sh "/proc/$sp/cmdline" || continue # gone (a pid file outlives it)
    for _ in $(seq 150); do kill -0 "$sp" 2>/dev/null || continue 2; sleep 0.1; done
    echo "cluster: instance $i did not stop within 15 s; killing its processes" >&2
    for f in nginx fcgi pushd; do
      p=$(cat "$dir/$f.pid" 2>/dev/null) && kill -KILL "$p" $(pgrep -P "$p") 2>/dev/null
    done
    kill -KILL "$sp" 2>/dev/null
  done
}

declare -A pid=()
stopping=0
stop_all() {
  stopping=1
  trap - INT TERM EXIT
  [ -n "${pid[balancer]:-}" ] && kill -TERM "${pid[balancer]}" 2>/dev/null
  stop_instances
  for p in "${REDIS_PORTS[@]}"; do
    [ -n "${pid[r$p]:-}" ] && kill -TERM "${pid[r$p]}" 2>/dev/null
  done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# The Redis Cluster: six empty nodes, then slots and replicas by redis-cli. An existing
# cluster in RUN_DIR (nodes.conf) is reused as it is. SPUBLISH is renamed away so that nchan
# uses classic PUBLISH/SUBSCRIBE: nchan 1.3.6's channel DELETE notifies with PUBLISH even when
# its subscribers listen with SSUBSCRIBE (delete.lua), so on Redis 7 a DELETE (a kick, a room
# closed) would leave every subscriber connected (measured; docs/nchan-notes.md).
for p in "${REDIS_PORTS[@]}"; do
  mkdir -p "$RUN_DIR/redis-$p"
  setsid redis-server --port "$p" --bind 127.0.0.1 --dir "$RUN_DIR/redis-$p" \
    --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout "$NODE_TIMEOUT_MS" --appendonly "${WNC_REDIS_APPENDONLY:-yes}" \
    --rename-command SPUBLISH '""' \
    --save "" --daemonize no --logfile "$RUN_DIR/redis-$p/redis.log" &
  pid[r$p]=$!
done
for p in "${REDIS_PORTS[@]}"; do
  for i in $(seq 100); do
    redis-cli -p "$p" PING >/dev/null 2>&1 && break
    [ "$i" = 100 ] && { echo "cluster: redis on $p did not start; see $RUN_DIR/redis-$p" >&2; exit 1; }
    sleep 0.05
  done
done
if ! redis-cli -p "$REDIS_BASE" CLUSTER INFO | grep -q 'cluster_slots_assigned:16384'; then
  addrs=()
  for p in "${REDIS_PORTS[@]}"; do addrs+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas 1 --cluster-yes \
    > "$RUN_DIR/cluster-create.log" 2>&1 ||
    { echo "cluster: redis-cli --cluster create failed:" >&2; cat "$RUN_DIR/cluster-create.log" >&2; exit 1; }
fi
for i in $(seq 400); do
  ok=0
  for p in "${REDIS_PORTS[@]}"; do
    redis-cli -p "$p" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
  done
  [ "$ok" = 6 ] && break
  [ "$i" = 400 ] && { echo "cluster: the Redis Cluster did not reach state ok" >&2; exit 1; }
  sleep 0.05
done

# The instances: each a whole stack.sh on the cluster, with a name of its own (pushd sweeps
# its own nginx workers' streams by it).
UPSTREAMS=""
for i in $(seq "$INSTANCES"); do
  ip=$(( PORT + i ))
  PORT=$ip WNC_RUN_DIR="$RUN_DIR/$i" WNC_REDIS_EXTERNAL=1 REDIS_PORT="$REDIS_BASE" \
    WNC_REDIS_CLUSTER="$SEEDS" WNC_NCHAN_REDIS="$SEEDS" WNC_INSTANCE="${WNC_INSTANCE:-wnc}-$i" \
    WNC_TRUSTED_PROXIES="${WNC_TRUSTED_PROXIES:-127.0.0.1}" \
    setsid "$ROOT/scripts/stack.sh" > >(sed -u "s/^/[$i] /") 2>&1 &
  pid[i$i]=$!
  UPSTREAMS="$UPSTREAMS server 127.0.0.1:$ip max_fails=1 fail_timeout=2s;"
done

# The balancer holds two descriptors per client connection (client and instance).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n) WORKER_CONNECTIONS=$(( $(ulimit -n) / 2 )) \
  RUN_DIR="$RUN_DIR/balancer" LISTEN="127.0.0.1:$PORT" "$ROOT/scripts/render-nginx.sh" \
  "$ROOT/nginx/balancer.conf.in" | sed "s|@INSTANCES@|$UPSTREAMS|" > "$RUN_DIR/balancer/nginx.conf"
for i in $(seq "$INSTANCES"); do
  for t in $(seq 400); do
    curl -fsS -o /dev/null "http://127.0.0.1:$(( PORT + i ))/health" 2>/dev/null && break
    kill -0 "${pid[i$i]}" 2>/dev/null || { echo "cluster: instance $i did not start" >&2; exit 1; }
    [ "$t" = 400 ] && { echo "cluster: instance $i did not answer /health" >&2; exit 1; }
    sleep 0.05
  done
done
setsid nginx -p "$RUN_DIR/balancer" -c "$RUN_DIR/balancer/nginx.conf" -e "$RUN_DIR/balancer/logs/error.log" &
pid[balancer]=$!
for t in $(seq 200); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/health" 2>/dev/null && break
  [ "$t" = 200 ] && { echo "cluster: the balancer did not answer" >&2; exit 1; }
  sleep 0.05
done
echo "Watch N Chill cluster is running at http://127.0.0.1:$PORT/ (balancer)"
for i in $(seq "$INSTANCES"); do
  echo "  instance $i: http://127.0.0.1:$(( PORT + i ))/  (logs: $RUN_DIR/$i/logs)"
done
echo "  redis cluster: $SEEDS (3 masters, 3 replicas)"
echo "Ctrl-C stops everything."

# Supervision: report what exits; the balancer or every instance gone ends the run.
while :; do
  dead="" status=0
  wait -n -p dead "${pid[@]}" 2>/dev/null || status=$?
  [ "$stopping" = 1 ] && break
  [ -n "$dead" ] || continue
  for n in "${!pid[@]}"; do
    [ "${pid[$n]}" = "$dead" ] || continue
    echo "cluster: $n exited (status $status)" >&2
    unset "pid[$n]"
    [ "$n" = balancer ] && exit 1
  done
  alive=0
  for i in $(seq "$INSTANCES"); do [ -n "${pid[i$i]:-}" ] && alive=1; done
  [ "$alive" = 1 ] || { echo "cluster: no instance left; stopping" >&2; exit 1; }
done
