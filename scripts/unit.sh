#!/usr/bin/env bash
# Runs the CUnit binary against a private redis-server: loopback only, a free port, a temp
# directory, no persistence. The server is stopped whatever happens; the exit status is the
# binary's.
#   scripts/unit.sh build/wnc-unit [args...]
# The binary finds the server through WNC_TEST_REDIS_PORT and the scripts through WNC_SQL_DIR.
set -uo pipefail

if [ $# -lt 1 ]; then
  echo "usage: $0 <unit-binary> [args...]" >&2
  exit 2
fi
BIN=$1
shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)

command -v redis-server >/dev/null 2>&1 || { echo "unit.sh: redis-server not found" >&2; exit 2; }
command -v redis-cli >/dev/null 2>&1 || { echo "unit.sh: redis-cli not found" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/wnc-unit.XXXXXX")
REDIS_PID=""
CLUSTER_PIDS=""

stop_pid() {
  if [ -n "$1" ] && kill -0 "$1" 2>/dev/null; then
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}

cleanup() {
  stop_pid "$REDIS_PID"
  for pid in $CLUSTER_PIDS; do stop_pid "$pid"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A port nobody listens on; redis-server itself fails to start if another process takes it in
# between, and we then try another one.
port_is_free() {
  ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

started=0
for attempt in $(seq 20); do
  PORT=$(( 20000 + RANDOM % 40000 ))
  port_is_free "$PORT" || continue
  redis-server --port "$PORT" --bind 127.0.0.1 --dir "$TMP" --save '' --appendonly no \
    --unixsocket "$TMP/redis.sock" --unixsocketperm 700 \
    --daemonize no --logfile "$TMP/redis.log" >/dev/null 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$REDIS_PID" 2>/dev/null; then break; fi
    # Only our own process will do: another server that took the port in between (someone
    # else's test stack) must never be flushed by the tests.
    pid=$(redis-cli -h 127.0.0.1 -p "$PORT" INFO server 2>/dev/null | tr -d '\r' |
          sed -n 's/^process_id://p')
    if [ "$pid" = "$REDIS_PID" ]; then
      started=1
      break
    fi
    sleep 0.05
  done
  [ "$started" = 1 ] && break
  kill -KILL "$REDIS_PID" 2>/dev/null || true
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
done
if [ "$started" != 1 ]; then
  echo "unit.sh: could not start redis-server (log follows)" >&2
  cat "$TMP/redis.log" >&2 2>/dev/null || true
  exit 2
fi

# Three empty masters with every slot, for the store's cluster suite (tests/unit/core/
# test_store_cluster.c). Their ports and cluster-bus ports (+10000) are drawn from 15000-17999
# and 25000-27999, below the kernel's ephemeral range (ip_local_port_range, 32768 up): a
# listener there can collide with any outgoing connection on the box (a bus port taken that way
# made a node abort, and the suite fail, under CI's load). A node that still fails to start
# makes us draw again.
cluster_up() {
  for pid in $CLUSTER_PIDS; do kill -0 "$pid" 2>/dev/null || return 1; done
  for a in ${CLUSTER_ADDRS//,/ }; do
    redis-cli -h 127.0.0.1 -p "${a##*:}" PING 2>/dev/null | grep -q PONG || return 2
  done
}
for attempt in $(seq 10); do
  CLUSTER_ADDRS="" CLUSTER_PIDS=""
  BASE=$(( 15000 + RANDOM % 2990 ))
  for i in 1 2 3; do
    CPORT=$(( BASE + i ))
    port_is_free "$CPORT" && port_is_free $(( CPORT + 10000 )) || continue 2
  done
  for i in 1 2 3; do
    CPORT=$(( BASE + i ))
    rm -rf "$TMP/c$i" && mkdir -p "$TMP/c$i"
    redis-server --port "$CPORT" --bind 127.0.0.1 --dir "$TMP/c$i" --save '' --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --daemonize no --logfile "$TMP/c$i/redis.log" >/dev/null 2>&1 &
    CLUSTER_PIDS="$CLUSTER_PIDS $!"
    CLUSTER_ADDRS="${CLUSTER_ADDRS:+$CLUSTER_ADDRS,}127.0.0.1:$CPORT"
  done
  for _ in $(seq 200); do
    cluster_up; rc=$?
    [ "$rc" = 2 ] || break
    sleep 0.05
  done
  [ "$rc" = 0 ] && break
  echo "unit.sh: a cluster node on $CLUSTER_ADDRS did not start; drawing other ports" >&2
  for pid in $CLUSTER_PIDS; do stop_pid "$pid"; done
  CLUSTER_PIDS=""
done
if redis-cli --cluster create ${CLUSTER_ADDRS//,/ } --cluster-yes >"$TMP/cluster-create.log" 2>&1; then
  for _ in $(seq 200); do
    ok=0
    for a in ${CLUSTER_ADDRS//,/ }; do
      redis-cli -p "${a##*:}" CLUSTER INFO 2>/dev/null | grep -q 'cluster_state:ok' && ok=$((ok + 1))
    done
    [ "$ok" = 3 ] && break
    sleep 0.05
  done
  export WNC_TEST_REDIS_CLUSTER=$CLUSTER_ADDRS
  echo "unit.sh: redis cluster on $CLUSTER_ADDRS"
else
  echo "unit.sh: could not create the cluster (the cluster suite will fail):" >&2
  cat "$TMP/cluster-create.log" >&2
fi

export WNC_TEST_REDIS_PORT=$PORT
export WNC_TEST_REDIS_SOCKET=$TMP/redis.sock
export WNC_SQL_DIR=${WNC_SQL_DIR:-$ROOT/sql}
echo "unit.sh: redis-server pid $REDIS_PID on 127.0.0.1:$PORT"
# A bound, so that a suite stuck on a server (seen twice on a loaded box) fails the run instead
# of stalling CI; 124 is timeout's status for it. The suites take seconds (ASan: about 30 s).
timeout -k 10 "${WNC_UNIT_TIMEOUT_S:-600}" "$BIN" "$@"
status=$?
[ "$status" = 124 ] && echo "unit.sh: the suites did not finish within ${WNC_UNIT_TIMEOUT_S:-600} s" >&2
exit "$status"
