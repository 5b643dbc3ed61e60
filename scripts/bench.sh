#!/usr/bin/env bash
# scripts/bench.sh [--quick] [RUN...] - the load benchmark (issues 7 and 13).
#
# Starts a private stack per run (scripts/stack.sh: AOF on, the default worker count, free
# loopback ports, rate limits raised through the environment), drives it with build/wnc-loadgen,
# prints one table row per run and writes one JSON file per run under results/ (git-ignored).
# Every figure of issue 13 also gets its floor, measured in the same run on a private floor
# (tests/bench/floor.sh: bare nginx + nchan and the FastCGI echo build/wnc-fcgi-echo), and the
# run ends with the table ours | floor | ratio | goal | met? (also in summary.md).
#
#   scripts/bench.sh            the standard set (~10 minutes)
#   scripts/bench.sh --quick    a short smoke version for CI (< 1 minute): fails only when the
#                               tool or the API breaks (no deliveries, refused subscriptions,
#                               lost members, a missing figure), never on timing or a goal
#   scripts/bench.sh ref-1 floor-ref-1 ...    only the named runs (the table shows n/a for
#                               the others)
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
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) ONLY+=("$a") ;;
  esac
done

[ -x "$LOADGEN" ] || { echo "bench: $LOADGEN missing; run make $LOADGEN" >&2; exit 2; }
ECHO_FLOOR=${WNC_BIN_DIR:-$ROOT/build}/wnc-fcgi-echo
[ -x "$ECHO_FLOOR" ] || { echo "bench: $ECHO_FLOOR missing; run make $ECHO_FLOOR" >&2; exit 2; }
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

# start_stack NAME [floor]: a fresh stack (or floor) for one run; sets URL, STACK_PID, RUN_DIR.
start_stack() {
  RUN_DIR=$WORK/$1
  mkdir -p "$RUN_DIR"
  local port redis_port launcher=$ROOT/scripts/stack.sh
  [ "${2:-}" = floor ] && launcher=$ROOT/tests/bench/floor.sh
  port=$(free_port)
  redis_port=$(free_port)
  [ "$redis_port" = "$port" ] && redis_port=$((port + 1))
  CUR_REDIS_PORT=$redis_port
  [ "${2:-}" = floor ] && CUR_REDIS_PORT=
  PORT=$port REDIS_PORT=$redis_port WNC_RUN_DIR=$RUN_DIR \
    setsid nice -n "$NICE" "$launcher" >"$RUN_DIR.stack.log" 2>&1 </dev/null &
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
# floor NAME WORKLOAD [loadgen options...]: the same on a fresh floor, with --bare.
run() { run_on stack "$@"; }
floor() { run_on floor "$@" --bare; }
run_on() {
  local kind=$1 name=$2 wl=$3
  shift 3
  if [ ${#ONLY[@]} -gt 0 ]; then
    local hit=0
    for o in "${ONLY[@]}"; do [ "$o" = "$name" ] && hit=1; done
    [ $hit = 1 ] || return 0
  fi
  start_stack "$name" "$kind"
  local rc=0
  nice -n "$NICE" "$LOADGEN" "$wl" --url "$URL" --stack-pid "$STACK_PID" --run-dir "$RUN_DIR" \
    --label "$name" --json "$OUT/$name.json" "$@" 2>"$WORK/$name.err" || rc=$?
  # Server-side evidence for docs/performance.md: nchan's own counters, Redis INFO.
  if [ -S "$RUN_DIR/publish.sock" ]; then
    curl -s --unix-socket "$RUN_DIR/publish.sock" http://localhost/status >"$OUT/$name.nchan.txt" 2>/dev/null || true
  fi
  if [ -n "$CUR_REDIS_PORT" ]; then
    redis-cli -p "$CUR_REDIS_PORT" info all >"$OUT/$name.redis.txt" 2>/dev/null || true
  fi
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
# Each floor run comes right before the run it is the floor of, so that both see the same
# neighbours on a shared box.
if [ $QUICK = 1 ]; then
  # Smoke: every workload and every floor once, small and short (the table's code path runs
  # too). Fails only if the tool or the API breaks.
  Q=(--duration 1 --warmup 0.3)
  floor quick-floor-idle idle --rooms 20 --viewers 10 --idle-wait 0.5
  run quick-idle-2k idle --rooms 20 --viewers 10 --idle-wait 0.5
  floor quick-floor-echo ops --rooms 10 --viewers 4 --conns 16 "${Q[@]}"
  run quick-rest ops --rooms 10 --viewers 4 --conns 16 "${Q[@]}"
  run quick-joins-10 joinstorm --subscribe --rooms 10 --viewers 10 --conns 50
  run quick-joins-500 joinstorm --subscribe --rooms 2 --viewers 50 --conns 50
  for f in 1 5 10; do
    floor "quick-floor-ref-$f" fanout --rooms 20 --viewers 10 --rate "$f" "${Q[@]}"
    run "quick-ref-$f" fanout --rooms 20 --viewers 10 --rate "$f" "${Q[@]}"
  done
  floor quick-floor-fanout fanout --rooms 4 --viewers 50 --rate 10 "${Q[@]}"
  run quick-fanout-50k fanout --rooms 4 --viewers 50 --rate 10 "${Q[@]}"
  run quick-chat chat --rooms 4 --viewers 20 --rate 10 "${Q[@]}"
else
  # ---- the reference workload of issue 13, each against its floor ----
  # Idle: 2 000 connected members in rooms of 10, no video: cores and KiB each. The window
  # starts 10 s after the last subscription (the joins' tail is theirs) and spans two ping
  # and heartbeat periods: members that connected together are pinged together, so a window
  # of another length counts one burst more or less depending on where it falls.
  IDLE_S=$((2 * ${WNC_WS_PING_S:-15}))
  floor floor-idle idle --rooms 200 --viewers 10 --warmup 10 --idle-wait "$IDLE_S"
  run idle-2k idle --rooms 200 --viewers 10 --warmup 10 --idle-wait "$IDLE_S"
  # The REST path alone (members joined, nobody subscribed), closed loop, 128 in flight; its
  # floor sends the same requests to the FastCGI echo.
  floor floor-echo ops --rooms 100 --viewers 10 --conns 128 --duration "$D"
  run rest ops --rooms 100 --viewers 10 --conns 128 --duration "$D"
  # Joins, each followed by the member's subscription, 200 in flight: rooms of 10 and of 500.
  run joins-10 joinstorm --subscribe --rooms 100 --viewers 10 --conns 200
  run joins-500 joinstorm --subscribe --rooms 4 --viewers 500 --conns 200
  # 300 rooms x 10 viewers, the host at 1, 5 and 10 actions/s per room (3 000, 15 000 and
  # 30 000 deliveries/s). At 10/s the box is overloaded: excess requests must get 503 +
  # Retry-After or queue, never 502/504, and nothing may be lost.
  for f in 1 5 10; do
    floor "floor-ref-$f" fanout --rooms 300 --viewers 10 --rate "$f" --duration "$D"
    run "ref-$f" fanout --rooms 300 --viewers 10 --rate "$f" --duration "$D"
  done
  # Fan-out: 10 000 viewers in 40 rooms of 250, hosts at rising rates.
  floor floor-fanout fanout --rooms 40 --viewers 250 --rate 5 --duration "$D"
  run fanout-50k fanout --rooms 40 --viewers 250 --rate 5 --duration "$D"
  run fanout-200k fanout --rooms 40 --viewers 250 --rate 20 --duration "$D"
  run fanout-500k fanout --rooms 40 --viewers 250 --rate 50 --duration "$D"

  # ---- more shapes (issue 7) ----
  # Memory per idle viewer with many viewers.
  run idle-10k idle --rooms 40 --viewers 250 --idle-wait 5
  # Concurrent joins alone (no subscriptions) into big rooms: throughput and zero lost members.
  run joinstorm joinstorm --rooms 20 --viewers 500 --conns 256
  # Chat fan-out: every member posts.
  run chat chat --rooms 20 --viewers 100 --rate 20 --duration "$D"
  # Scale curve: rooms of 50 viewers, 1 host action per second per room.
  run scale-1k fanout --rooms 20 --viewers 50 --rate 1 --duration "$D"
  run scale-5k fanout --rooms 100 --viewers 50 --rate 1 --duration "$D"
  run scale-10k fanout --rooms 200 --viewers 50 --rate 1 --duration "$D"
  # 20 000 viewers need more connections than one nginx worker holds where the descriptor
  # limit is 20 000 (this box's hard limit; each worker gets that limit minus 100): on such a
  # box the one-worker default of two cores refuses the last ~1 500 subscriptions. So this
  # run has as many workers as its viewers need, and never fewer than the default.
  PER_WORKER=$(( $(ulimit -Hn) - 100 ))
  NEED=$(( 21000 / PER_WORKER + 1 ))
  DEFAULT_WORKERS=$(( $(nproc) / 2 > 1 ? $(nproc) / 2 : 1 ))
  [ "$NEED" -lt "$DEFAULT_WORKERS" ] && NEED=$DEFAULT_WORKERS
  WNC_NGINX_WORKERS=${WNC_NGINX_WORKERS:-$NEED} \
    run scale-20k fanout --rooms 400 --viewers 50 --rate 1 --duration "$D" --procs 2
fi

# The table of issue 13: every figure against its floor from this run. Strict (a missing
# figure fails) unless only some runs were asked for.
{
  echo "# make bench$([ $QUICK = 1 ] && echo -quick): $(basename "$OUT")"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')), load average before the table: $(cut -d' ' -f1-3 /proc/loadavg), BENCH_NICE=$NICE, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?), BENCH_DURATION=$D"
  echo
} >"$OUT/summary.md"
echo
STRICT=--strict
[ ${#ONLY[@]} -gt 0 ] && STRICT=
PREFIX=
[ $QUICK = 1 ] && PREFIX=quick-
if ! "$LOADGEN" summary "$OUT" --prefix "$PREFIX" --md "$OUT/summary.md" $STRICT; then
  FAILED+=(summary)
fi
echo

if [ ${#FAILED[@]} -gt 0 ]; then
  echo "bench: failed runs: ${FAILED[*]} (details above; JSON in $OUT)" >&2
  exit 1
fi
echo "bench: done; JSON and summary.md in $OUT"
