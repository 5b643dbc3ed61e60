#!/usr/bin/env bash
# scripts/bench.sh [--quick] [RUN...] - the load benchmark (issue 7).
#
# Starts a private stack per run (scripts/stack.sh: AOF on, the default worker count, free
# loopback ports, rate limits raised through the environment), drives it with build/wnc-loadgen,
# prints one table row per run and writes one JSON file per run under results/ (git-ignored).
#
#   scripts/bench.sh            the standard set (a few minutes)
#   scripts/bench.sh --quick    a short smoke version for CI: fails only when the tool breaks
#                               (no deliveries, lost members in joinstorm), never on timing
#   scripts/bench.sh fanout-50k scale-20k ...    only the named runs (selftest, idle-10k, ...)
#
# Environment: LOADGEN (build/wnc-loadgen), WNC_BENCH_RESULTS (results/), WNC_BIN_DIR
# (build/), BENCH_DURATION (seconds per timed run, default 10), BENCH_NICE (niceness of the
# stack and generator, default 0), BENCH_KEEP=1 (keep run directories and logs), plus any WNC_*
# knob, passed on to the stack.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LOADGEN=${LOADGEN:-$ROOT/build/wnc-loadgen}
QUICK=0
ONLY=()
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) ONLY+=("$a") ;;
  esac
done

[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN missing; run make $LOADGEN" >&2; exit 2; }
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
SUFFIX=
[ $QUICK = 1 ] && SUFFIX=-quick
OUT=${WNC_BENCH_RESULTS:-$ROOT/results}/bench-$STAMP$SUFFIX
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/wnc-bench.XXXXXX)
chmod 0711 "$WORK" # nginx workers run unprivileged and must reach the run directories

# Limits high enough that the benchmark measures the stack, not its abuse protection.
export WNC_RATE_LIMIT=${WNC_RATE_LIMIT:-100000000}
export WNC_MAX_SUBS_PER_IP=${WNC_MAX_SUBS_PER_IP:-1000000}
export WNC_CHAT_RATE=${WNC_CHAT_RATE:-100000000}
export WNC_CONTROL_RATE=${WNC_CONTROL_RATE:-100000000}
export WNC_NGINX_RATE=${WNC_NGINX_RATE:-100000000}
export WNC_NGINX_BURST=${WNC_NGINX_BURST:-100000000}
# The pool's queue is not capped either: past the listen backlog nginx still answers 503.
export WNC_FCGI_QUEUE=${WNC_FCGI_QUEUE:-100000}
export WNC_LOG_LEVEL=${WNC_LOG_LEVEL:-warn}
# Members join long before a big run's viewers have all subscribed, and hosts act over REST
# without subscribing: a presence grace shorter than setup would time them out mid-run.
export WNC_GRACE_MS=${WNC_GRACE_MS:-3600000}

# On a shared box, other tenants' processes steal the CPU and turn scheduling delays into
# "latency". BENCH_NICE=-10 (root) runs the stack and the generator ahead of them; say so when
# quoting figures.
NICE=${BENCH_NICE:-0}

STACK_PID=
RUN_DIR=
stop_stack() {
  if [ -n "$STACK_PID" ]; then
    kill -TERM "$STACK_PID" 2>/dev/null || true
    wait "$STACK_PID" 2>/dev/null || true
    STACK_PID=
  fi
}
cleanup() { stop_stack; [ -n "${BENCH_KEEP:-}" ] || rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port below the ephemeral range, so that the generator's own client ports
# never collide with it.
free_port() {
  local p
  for _ in $(seq 200); do
    p=$((20000 + RANDOM % 12000))
    [ "$p" = 8080 ] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench: no free port" >&2; exit 2
}

# start_stack NAME: a fresh stack for one run; sets URL, STACK_PID, RUN_DIR.
start_stack() {
  RUN_DIR=$WORK/$1
  mkdir -p "$RUN_DIR"
  local port redis_port
  port=$(free_port)
  redis_port=$(free_port)
  [ "$redis_port" = "$port" ] && redis_port=$((port + 1))
  CUR_REDIS_PORT=$redis_port
  PORT=$port REDIS_PORT=$redis_port WNC_RUN_DIR=$RUN_DIR \
    setsid nice -n "$NICE" "$ROOT/scripts/stack.sh" >"$RUN_DIR.stack.log" 2>&1 </dev/null &
  STACK_PID=$!
  URL=http://127.0.0.1:$port
  for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$URL/health" 2>/dev/null; then return 0; fi
    kill -0 "$STACK_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench: the stack did not come up; log:" >&2
  cat "$RUN_DIR.stack.log" >&2
  tail -n 20 "$RUN_DIR"/logs/*.log >&2 2>/dev/null || true
  exit 2
}

# run NAME WORKLOAD [loadgen options...]: one run on a fresh stack.
run() {
  local name=$1 wl=$2
  shift 2
  if [ ${#ONLY[@]} -gt 0 ]; then
    local hit=0
    for o in "${ONLY[@]}"; do [ "$o" = "$name" ] && hit=1; done
    [ $hit = 1 ] || return 0
  fi
  start_stack "$name"
  local rc=0
  nice -n "$NICE" "$LOADGEN" "$wl" --url "$URL" --stack-pid "$STACK_PID" --run-dir "$RUN_DIR" \
    --label "$name" --json "$OUT/$name.json" "$@" 2>"$WORK/$name.err" || rc=$?
  # Server-side evidence for docs/performance.md: nchan's own counters, Redis INFO.
  if [ -S "$RUN_DIR/publish.sock" ]; then
    curl -s --unix-socket "$RUN_DIR/publish.sock" http://localhost/status >"$OUT/$name.nchan.txt" 2>/dev/null || true
  fi
  redis-cli -p "$CUR_REDIS_PORT" info all >"$OUT/$name.redis.txt" 2>/dev/null || true
  stop_stack
  # Undelivered events are explained on stderr even when the run passes.
  grep -h '^lost:' "$WORK/$name.err" | sed 's/^/  /' >&2 || true
  if [ $rc != 0 ]; then
    FAILED+=("$name")
    echo "  ^ $name FAILED (exit $rc):" >&2
    tail -n 5 "$WORK/$name.err" >&2
  fi
}

FAILED=()
echo "results: $OUT"
# The generator's own ceiling (and a parser check: fragments, pings, 16/64-bit lengths), no stack.
selftest() {
  if [ ${#ONLY[@]} -gt 0 ]; then
    local hit=0
    for o in "${ONLY[@]}"; do [ "$o" = selftest ] && hit=1; done
    [ $hit = 1 ] || return 0
  fi
  if ! nice -n "$NICE" "$LOADGEN" selftest "$@" | tee "$OUT/selftest.txt"; then
    FAILED+=(selftest)
  fi
}
if [ $QUICK = 1 ]; then
  selftest --rooms 200 --duration 1
  selftest --rooms 4 --duration 0.5 --frame-bytes 70000
else
  selftest --rooms 10000 --duration 3
fi
"$LOADGEN" --header
D=${BENCH_DURATION:-10}
if [ $QUICK = 1 ]; then
  # Smoke: every workload once, small and short. Fails only if the tool or the API breaks.
  run quick-fanout fanout --rooms 4 --viewers 50 --rate 10 --duration 2 --warmup 0.5
  run quick-chat chat --rooms 4 --viewers 20 --rate 10 --duration 2 --warmup 0.5
  run quick-idle idle --rooms 4 --viewers 100 --idle-wait 1
  run quick-joinstorm joinstorm --rooms 4 --viewers 100 --conns 64
  run quick-ops ops --rooms 10 --viewers 4 --duration 2 --warmup 0.5
else
  # Memory per idle viewer and at rest.
  run idle-10k idle --rooms 40 --viewers 250 --idle-wait 5
  # Concurrent joins into few rooms: throughput and zero lost members.
  run joinstorm joinstorm --rooms 20 --viewers 500 --conns 256
  # REST control/chat throughput.
  run ops ops --rooms 100 --viewers 10 --conns 128 --duration "$D"
  # Fan-out: 10 000 viewers in 40 rooms of 250, hosts at rising rates.
  run fanout-50k fanout --rooms 40 --viewers 250 --rate 5 --duration "$D"
  run fanout-200k fanout --rooms 40 --viewers 250 --rate 20 --duration "$D"
  run fanout-500k fanout --rooms 40 --viewers 250 --rate 50 --duration "$D"
  # Overload (3x what the 2-core box serves): 300 rooms of 10, hosts at 10 actions/s. Excess
  # requests must get 503 + Retry-After (or queue), never 502/504.
  run overload fanout --rooms 300 --viewers 10 --rate 10 --duration "$D"
  # Chat fan-out: every member posts.
  run chat chat --rooms 20 --viewers 100 --rate 20 --duration "$D"
  # Scale curve: rooms of 50 viewers, 1 host action per second per room.
  run scale-1k fanout --rooms 20 --viewers 50 --rate 1 --duration "$D"
  run scale-5k fanout --rooms 100 --viewers 50 --rate 1 --duration "$D"
  run scale-10k fanout --rooms 200 --viewers 50 --rate 1 --duration "$D"
  run scale-20k fanout --rooms 400 --viewers 50 --rate 1 --duration "$D" --procs 2
fi

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "bench: failed runs: ${FAILED[*]} (details above; JSON in $OUT)" >&2
  exit 1
fi
echo "bench: done; JSON in $OUT"
