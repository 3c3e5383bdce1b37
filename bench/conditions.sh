#!/usr/bin/env bash
# conditions.sh — sinter and ONNX Runtime under the conditions of issue 20, for the
# default model, on one short request (16 token ids) and the log-normal batch (the
# 32 lengths of bench/lengths_lognormal_32.txt), each reporting p50/p99/max:
#   1. quiet: back to back and with PAUSES (0,10,50,200 ms) slept between requests;
#      plus both systems with 1 thread back to back (the reference for 2);
#   2. a CPU hog (`taskset -c HOG_CPU` busy loop, started and killed here) on one
#      core: back to back and 50 ms apart (and sinter with 1 thread);
#   3. a CPU quota of 1.5 CPUs: `systemd-run --scope -p CPUQuota=150%`, else a cgroup
#      v2 directory (cpu.max "150000 100000"), else a cgroup v1 cpu directory
#      (cpu.cfs_quota_us 150000 / cpu.cfs_period_us 100000); skipped, and said so,
#      when none can be made;
#   4. `sinter serve` + bench/loadgen (open loop, Poisson, log-normal texts) at 50 %
#      and 80 % of the sustainable rate (loadgen --find-max P99_MS on the quiet
#      machine), with and without the hog, LOAD_S (60) s each: p50/p99/max and the
#      requests over 1 s (loadgen --timeout-ms 1000: a request not answered 1 s
#      after its scheduled time counts as a timeout, so p99/max are over the
#      answered ones);
#   5. the Python package in a process that imported PyTorch and ran a BertModel
#      forward (sinter.Model.encode, the same with a torch matmul before each call,
#      and torch.compile(backend="sinter")), against the same calls in a process
#      of its own (condition 1's rows); ONNX Runtime likewise when its venv has torch;
# and the idle CPU (utime+stime) over IDLE_S (10) s of an idle `sinter serve`
# (after ready, and after the load) and of idle Python processes holding a model.
# Every client is bench/conditions_client.py (one process per system and
# condition): sinter through .venv/bin/python, ONNX Runtime (intra_op_num_threads =
# sinter's thread count in the same condition) through the peers' venv
# (bench/peers/setup.sh: .venv-peers, else .venv-fixtures, or ORT_PYTHON).
# At the end a Markdown section for bench/RESULTS.md (CPU, command, tables,
# targets) is printed and written to OUT/summary.md; raw JSON lines in OUT/*.jsonl.
#
#   bash bench/conditions.sh [--quick] [--out DIR] [--model DIR] [--only LIST]
#
# --only: a comma-separated subset of quiet,hog,quota,serve,torch,idle (default all).
# Knobs (environment): N_SHORT (300 short requests per point), N_BATCH (30 batches
# per point), WARMUP (3 untimed calls before each point), PAUSES (0,10,50,200),
# LOAD_S (60), FIND_S (10 s per find-max step),
# FIND_STEPS (5), RATE_MIN (5), RATE_MAX (400), P99_MS (100), SUSTAINABLE (skip
# find-max, use this req/s), IDLE_S (10), HOG_CPU (the last CPU), QUOTA (150 %),
# SINTER (build/sinter), PY (.venv/bin/python), ORT_PYTHON. --quick: a smoke run
# (N_SHORT=20 N_BATCH=3 WARMUP=1 PAUSES=0,50 LOAD_S=2 FIND_S=2 FIND_STEPS=1
# IDLE_S=2, about 2.5 minutes), not numbers. Full run: about 23 minutes on the 2-core VM.
set -euo pipefail
cd "$(dirname "$0")/.."
CMDLINE="bash bench/conditions.sh $*"

MODEL=${MODEL:-}
OUT=${OUT:-}
ONLY=${ONLY:-quiet,hog,quota,serve,torch,idle}
N_SHORT=${N_SHORT:-300}
N_BATCH=${N_BATCH:-30}
WARMUP=${WARMUP:-3}
PAUSES=${PAUSES:-0,10,50,200}
LOAD_S=${LOAD_S:-60}
FIND_S=${FIND_S:-10}
FIND_STEPS=${FIND_STEPS:-5}
RATE_MIN=${RATE_MIN:-5}
RATE_MAX=${RATE_MAX:-400}
P99_MS=${P99_MS:-100}
SUSTAINABLE=${SUSTAINABLE:-}
IDLE_S=${IDLE_S:-10}
HOG_CPU=${HOG_CPU:-$(($(nproc) - 1))}
QUOTA=${QUOTA:-150}
SINTER=${SINTER:-build/sinter}
PY=${PY:-.venv/bin/python}
LOADGEN=build/loadgen
QUICK=0

while [ $# -gt 0 ]; do
  case $1 in
    --model) MODEL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --quick)
      QUICK=1 N_SHORT=20 N_BATCH=3 WARMUP=1 PAUSES=0,50 LOAD_S=2 FIND_S=2 FIND_STEPS=1 IDLE_S=2
      shift ;;
    -h|--help) sed -n '2,42p' "$0"; exit 0 ;;
    *) echo "conditions: unknown argument $1" >&2; exit 2 ;;
  esac
done

die() { echo "conditions: $*" >&2; exit 1; }
log() { echo "conditions [+${SECONDS}s]: $*" >&2; }
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# --- what runs ---------------------------------------------------------------
find_model() {  # as bench/serve_bench.sh finds it
  local rel=.cache/models/all-MiniLM-L6-v2 main
  [ -f "$rel/config.json" ] && { echo "$rel"; return; }
  main=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  main=${main%/.git}
  [ -n "$main" ] && [ -f "$main/$rel/config.json" ] && { echo "$main/$rel"; return; }
  return 1
}
[ -n "$MODEL" ] || MODEL=$(find_model) ||
  die "no default model: run scripts/fetch_model.sh or pass --model DIR"
[ -f "$MODEL/config.json" ] || die "$MODEL has no config.json"
MODEL=$(cd "$MODEL" && pwd)
[ -x "$PY" ] || die "$PY is missing (the venv with the sinter package)"
"$PY" -c 'import sinter' 2>/dev/null || die "$PY cannot import sinter"
if want serve; then
  [ -x "$SINTER" ] || die "$SINTER is missing: cmake -S . -B build && cmake --build build"
  if [ ! -x "$LOADGEN" ] || [ bench/loadgen.c -nt "$LOADGEN" ]; then
    cmake --build build --target loadgen -j1 >/dev/null
  fi
fi
if [ -z "${ORT_PYTHON:-}" ]; then
  main=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
  main=${main%/.git}
  for p in .venv-peers/bin/python .venv-fixtures/bin/python ${main:+$main/.venv-peers/bin/python} \
    ${main:+$main/.venv-fixtures/bin/python}; do
    [ -x "$p" ] && "$p" -c 'import onnxruntime' 2>/dev/null && { ORT_PYTHON=$p; break; }
  done
fi
ORT_PYTHON=${ORT_PYTHON:-}
ORT_TORCH=0
if [ -n "$ORT_PYTHON" ]; then
  "$ORT_PYTHON" -c 'import torch, transformers' 2>/dev/null && ORT_TORCH=1
  if [ ! -f "/tmp/sinter-ort/$(basename "$MODEL")/model.opt.onnx" ]; then
    log "exporting and optimising the ONNX graph (once; bench/peers/ort_bench.py)"
    "$ORT_PYTHON" bench/peers/ort_bench.py --model "$MODEL" --batch 1 --seq 16 --iters 1 \
      --warmup 0 --threads 1 >/dev/null || die "ort_bench.py could not export $MODEL"
  fi
else
  log "no ONNX Runtime venv (bash bench/peers/setup.sh): ONNX Runtime rows are left out"
fi

[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/conditions.XXXXXX)
mkdir -p "$OUT"
: >"$OUT/clients.jsonl"
: >"$OUT/serve.jsonl"
: >"$OUT/notes.txt"
: >"$OUT/background.jsonl"
note() { echo "$*" | tee -a "$OUT/notes.txt" >&2; }
T0=$(date +%s)

# --- the hog, the quota, cleanup ---------------------------------------------
# The machine's busy CPU ticks (user+nice+system+irq+softirq) and stolen ticks, and a
# process's (utime+stime): what else ran during a measurement, the hog and the
# measured processes taken out, goes to OUT/background.jsonl (a busy 2-core VM, a
# compile next door, shows there instead of in the numbers unexplained).
TICK=$(getconf CLK_TCK)
now() { date +%s.%N; }
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $9}' /proc/stat; }
pid_ticks() { { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; } || echo 0; }
# background LABEL T0 T1 "BUSY0 STEAL0" "BUSY1 STEAL1" HOG_TICKS OWN_CPU_S
background() {
  awk -v what="$1" -v t0="$2" -v t1="$3" -v b0="$4" -v b1="$5" -v hog="$6" -v own="$7" \
    -v tick="$TICK" 'BEGIN {
      split(b0, a, " "); split(b1, b, " "); wall = t1 - t0
      other = (b[1] - a[1] - hog) / tick - own
      printf "{\"what\": \"%s\", \"wall_s\": %.1f, \"other_cores\": %.3f, \"steal_cores\": %.3f}\n",
        what, wall, other / wall, (b[2] - a[2]) / tick / wall }' >>"$OUT/background.jsonl"
}
HOG=
hog_start() {
  taskset -c "$HOG_CPU" sh -c 'while :; do :; done' &
  HOG=$!
  sleep 0.3
}
hog_stop() {
  [ -n "$HOG" ] || return 0
  kill "$HOG" 2>/dev/null || true
  wait "$HOG" 2>/dev/null || true
  HOG=
}
CG=
SERVER=
cleanup() {
  hog_stop
  [ -z "$SERVER" ] || { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  [ -z "$CG" ] || rmdir "$CG" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

QUOTA_HOW=
QUOTA_RUN=()
quota_setup() {
  local root
  # systemd, when it runs the machine
  if systemd-run --quiet --scope -p CPUQuota="$QUOTA%" -- true >/dev/null 2>&1; then
    QUOTA_HOW="systemd-run --scope -p CPUQuota=$QUOTA%"
    QUOTA_RUN=(systemd-run --quiet --scope -p CPUQuota="$QUOTA%" --)
    return 0
  fi
  note "quota: systemd-run --scope failed ($(systemd-run --quiet --scope -p CPUQuota="$QUOTA%" -- true 2>&1 | head -1))"
  # a cgroup v2 directory, where v2 has the cpu controller
  root=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
  if [ -n "$root" ] && grep -qw cpu "$root/cgroup.controllers" 2>/dev/null; then
    grep -qw cpu "$root/cgroup.subtree_control" || echo +cpu >"$root/cgroup.subtree_control" 2>/dev/null || true
    CG=$root/sinter-conditions.$$
    if mkdir "$CG" 2>/dev/null && echo "$((QUOTA * 1000)) 100000" >"$CG/cpu.max" 2>/dev/null; then
      QUOTA_HOW="cgroup v2 $CG, cpu.max \"$(cat "$CG/cpu.max")\""
      return 0
    fi
    rmdir "$CG" 2>/dev/null || true
    CG=
  fi
  note "quota: no cgroup v2 with the cpu controller (v2 at '${root:-none}', controllers: '$(cat "$root/cgroup.controllers" 2>/dev/null)')"
  # a cgroup v1 cpu directory (hybrid hierarchy): the same CFS bandwidth control
  for root in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpu; do
    [ -f "$root/cpu.cfs_quota_us" ] || continue
    CG=$root/sinter-conditions.$$
    if mkdir "$CG" 2>/dev/null && echo 100000 >"$CG/cpu.cfs_period_us" &&
      echo "$((QUOTA * 1000))" >"$CG/cpu.cfs_quota_us" 2>/dev/null; then
      QUOTA_HOW="cgroup v1 $CG, cpu.cfs_quota_us $(cat "$CG/cpu.cfs_quota_us") / cpu.cfs_period_us $(cat "$CG/cpu.cfs_period_us") (no cgroup v2 cpu controller here)"
      return 0
    fi
    rmdir "$CG" 2>/dev/null || true
    CG=
  done
  note "quota: no cgroup v1 cpu directory could be made either: condition 3 skipped"
  return 1
}
# in_quota CMD...: CMD inside the quota.
in_quota() {
  if [ ${#QUOTA_RUN[@]} -gt 0 ]; then
    "${QUOTA_RUN[@]}" "$@"
  else
    sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"
  fi
}

# --- the clients -------------------------------------------------------------
# client [PREFIX... --] SYSTEM CONDITION THREADS PAUSES [client args...]
client() {
  local pre=() system cond threads pauses py
  if [ "$1" = in_quota ]; then pre=(in_quota); shift; fi
  system=$1 cond=$2 threads=$3 pauses=$4
  shift 4
  if [ "$system" = onnxruntime ]; then
    [ -n "$ORT_PYTHON" ] || return 0
    py=$ORT_PYTHON
  else
    py=$PY
  fi
  log "$system | $cond | threads $threads | pauses $pauses ms"
  local t0 b0 h0 own
  t0=$(now) b0=$(busy_ticks) h0=$(pid_ticks "$HOG")
  "${pre[@]}" "$py" bench/conditions_client.py --system "$system" --model "$MODEL" \
    --condition "$cond" --threads "$threads" --pauses "$pauses" --n-short "$N_SHORT" \
    --n-batch "$N_BATCH" --warmup "$WARMUP" "$@" 2>>"$OUT/clients.stderr" >"$OUT/last.jsonl" ||
    note "client failed: $system $cond (see $OUT/clients.stderr)"
  background "$system | $cond" "$t0" "$(now)" "$b0" "$(busy_ticks)" \
    "$(($(pid_ticks "$HOG") - h0))" \
    "$(grep -o '"process_cpu_s": [0-9.]*' "$OUT/last.jsonl" | awk '{print $2}' | tail -1)"
  tee -a "$OUT/clients.jsonl" <"$OUT/last.jsonl" >&2
}
THREADS=$("$PY" -c 'import sinter; print(sinter.cpu_count())')

# --- 1. quiet ---------------------------------------------------------------
if want quiet; then
  for s in sinter onnxruntime; do
    idle=()
    want idle && idle=(--idle "$IDLE_S")
    client "$s" quiet "$THREADS" "$PAUSES" "${idle[@]}"
  done
  for s in sinter onnxruntime; do client "$s" "quiet, 1 thread" 1 0; done
fi

# --- 2. the hog --------------------------------------------------------------
if want hog; then
  hog_start
  for s in sinter onnxruntime; do client "$s" "hog on CPU $HOG_CPU" "$THREADS" 0,50; done
  client sinter "hog on CPU $HOG_CPU, 1 thread" 1 0
  hog_stop
fi

# --- 3. the quota -------------------------------------------------------------
if want quota; then
  if quota_setup; then
    note "quota: $QUOTA_HOW"
    QTHREADS=$(in_quota "$PY" -c 'import sinter; print(sinter.cpu_count())')
    note "quota: sinter.cpu_count() inside it: $QTHREADS; /proc/self/cgroup there: $(in_quota cat /proc/self/cgroup | grep -E ':cpu[,:]|^0::' | tr '\n' ' ')"
    for s in sinter onnxruntime; do
      client in_quota "$s" "quota $QUOTA % CPU" "$QTHREADS" 0,50
    done
    if [ -n "$CG" ]; then
      note "quota: throttled $(grep -E 'nr_throttled|throttled_(time|usec)' "$CG/cpu.stat" | tr '\n' ' ')"
      rmdir "$CG" 2>/dev/null || true
      CG=
    fi
  fi
fi

# --- 5. a process that also runs PyTorch -----------------------------------------
if want torch; then
  idle=()
  want idle && idle=(--idle "$IDLE_S")
  # one process: sinter.Model (torch loaded, then a matmul before each call), then
  # torch.compile(backend=sinter) likewise, then idle
  client sinter,sinter-torch-compile "torch process" "$THREADS" 0,50 --torch loaded,interleaved \
    "${idle[@]}"
  if [ "$ORT_TORCH" = 1 ]; then
    client onnxruntime "torch process" "$THREADS" 0,50 --torch loaded,interleaved
  else
    note "torch: the ONNX Runtime venv has no torch/transformers: no ONNX Runtime rows in a torch process"
  fi
fi

# --- 4. sinter serve under load (and its idle CPU) -----------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
# GET PATH through bash's /dev/tcp: the whole response on stdout.
http_get() {
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$1" >&3
  timeout 10 cat <&3 || true
  exec 3>&-
}
idle_server() {  # idle_server LABEL
  local c0 cpu
  c0=$(cpu_ticks)
  sleep "$IDLE_S"
  cpu=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
  echo "{\"system\": \"sinter serve\", \"condition\": \"idle\", \"kind\": \"$1\", \"idle_s\": $IDLE_S, \"idle_cpu_s\": $cpu}" |
    tee -a "$OUT/clients.jsonl" >&2
}
if want serve; then
  "$SINTER" serve --model "$MODEL" --port 0 >"$OUT/server.out" 2>"$OUT/server.log" &
  SERVER=$!
  PORT=
  t0=$(now)
  while [ -z "$PORT" ]; do
    kill -0 "$SERVER" 2>/dev/null || die "the server exited: $(cat "$OUT/server.log")"
    PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$OUT/server.log")
    [ -n "$PORT" ] || sleep 0.01
  done
  until http_get /health 2>/dev/null | head -1 | grep -q ' 200'; do
    kill -0 "$SERVER" 2>/dev/null || die "the server exited: $(cat "$OUT/server.log")"
    awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a > 300) }' && die "not ready after 300 s"
    sleep 0.05
  done
  URL=http://127.0.0.1:$PORT
  log "sinter serve ready at $URL"
  "$LOADGEN" --url "$URL" --sequential 20 >/dev/null
  want idle && idle_server "idle server (after ready and 20 requests)"
  if [ -z "$SUSTAINABLE" ]; then
    log "find-max: p99 <= $P99_MS ms, $FIND_S s per step, $FIND_STEPS steps"
    "$LOADGEN" --url "$URL" --find-max "$P99_MS" --rate-min "$RATE_MIN" --rate-max "$RATE_MAX" \
      --steps "$FIND_STEPS" --duration "$FIND_S" | tee "$OUT/find_max.jsonl" >&2
    SUSTAINABLE=$(grep -o '"max_rate": [0-9.]*' "$OUT/find_max.jsonl" | awk '{print $2}')
    BRACKET=$(grep -o '"bracket": \[[^]]*\]' "$OUT/find_max.jsonl" | sed 's/"bracket": //')
    note "serve: sustainable rate (p99 <= $P99_MS ms, < 1 % errors, quiet) $SUSTAINABLE req/s, bracket $BRACKET, $FIND_S s per step"
  else
    note "serve: sustainable rate given: $SUSTAINABLE req/s"
  fi
  if awk -v r="$SUSTAINABLE" 'BEGIN { exit !(r > 0) }'; then
    for hog in 0 1; do
      for pct in 50 80; do
        rate=$(awk -v r="$SUSTAINABLE" -v p="$pct" 'BEGIN { printf "%.2f", r * p / 100 }')
        cond="serve $pct %"
        [ "$hog" = 1 ] && { cond="serve $pct %, hog on CPU $HOG_CPU"; hog_start; }
        sleep 2
        c0=$(cpu_ticks) t0=$(now) b0=$(busy_ticks) h0=$(pid_ticks "$HOG")
        log "$cond: $rate req/s for $LOAD_S s"
        line=$("$LOADGEN" --url "$URL" --rate "$rate" --duration "$LOAD_S" --timeout-ms 1000)
        cpu=$(awk -v a="$c0" -v b="$(cpu_ticks)" -v t="$TICK" 'BEGIN { printf "%.2f", (b - a) / t }')
        lg=$(echo "$line" | grep -o '"client_cpu_s": [0-9.]*' | awk '{print $2}')
        background "sinter serve | $cond" "$t0" "$(now)" "$b0" "$(busy_ticks)" \
          "$(($(pid_ticks "$HOG") - h0))" "$(awk -v a="$cpu" -v b="$lg" 'BEGIN {print a + b}')"
        hog_stop
        echo "{\"system\": \"sinter serve\", \"condition\": \"$cond\", \"load_pct\": $pct, \"hog\": $hog, \"sustainable_rate\": $SUSTAINABLE, \"server_cpu_s\": $cpu, ${line#\{}" |
          tee -a "$OUT/serve.jsonl" >&2
      done
    done
  else
    note "serve: no sustainable rate found (even $RATE_MIN req/s failed p99 <= $P99_MS ms): load points skipped"
  fi
  want idle && idle_server "idle server (after the load)"
  kill -TERM "$SERVER"
  rc=0
  wait "$SERVER" || rc=$?
  SERVER=
  [ "$rc" -eq 0 ] || note "serve: exit code $rc after SIGTERM (expected 0)"
fi

# --- the summary --------------------------------------------------------------------
ORT_VERSION=
[ -z "$ORT_PYTHON" ] || ORT_VERSION=$("$ORT_PYTHON" -c 'import onnxruntime; print(onnxruntime.__version__)')
"$PY" bench/conditions_report.py --out "$OUT" --command "$CMDLINE" --model "$MODEL" \
  --threads "$THREADS" --hog-cpu "$HOG_CPU" --quick "$QUICK" --ort "${ORT_VERSION:-none}" \
  --warmup "$WARMUP" --settings "N_SHORT=$N_SHORT N_BATCH=$N_BATCH WARMUP=$WARMUP PAUSES=$PAUSES LOAD_S=$LOAD_S FIND_S=$FIND_S FIND_STEPS=$FIND_STEPS RATE_MIN=$RATE_MIN RATE_MAX=$RATE_MAX P99_MS=$P99_MS IDLE_S=$IDLE_S HOG_CPU=$HOG_CPU QUOTA=$QUOTA" \
  --seconds "$(($(date +%s) - T0))" --n-short "$N_SHORT" --n-batch "$N_BATCH" --load-s "$LOAD_S" \
  --idle-s "$IDLE_S" | tee "$OUT/summary.md"
echo "raw results: $OUT" >&2
