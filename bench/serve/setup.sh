#!/usr/bin/env bash
# setup.sh — the serving peers' own Python environment for bench/serve/compare:
# TorchServe 0.12 (+ torch-model-archiver) with PyTorch and transformers for the
# stock handler, Infinity (infinity-emb 0.0.78) with its ONNX Runtime (optimum)
# and torch engines, sentence-transformers for the reference vectors, and the
# sinter package itself (for TorchServe with sinter.torchserve.Handler).
#
#   bash bench/serve/setup.sh            # makes bench/serve/.venv
#   SERVE_VENV=/path/to/venv bash bench/serve/setup.sh
#
# Never the repository's .venv: Infinity pins numpy < 2, transformers < 5 and
# sentence-transformers < 4, which the fixtures' venv must not get. Everything
# runs under `nice -n 19` (the machine is shared). Idempotent: a second run only
# reinstalls sinter from the current tree. Developer-run; CI never installs it.
#
# text-embeddings-inference is not installed: it is a Rust binary distributed as
# container images and GitHub releases, neither reachable here (only PyPI and
# Debian are); PyPI has TEI clients only.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${SERVE_VENV:-bench/serve/.venv}
PY=${PYTHON:-python3}
NICE=(nice -n 19)
if [ ! -x "$VENV/bin/python" ]; then
  "${NICE[@]}" "$PY" -m venv "$VENV"
fi
PIP=("${NICE[@]}" "$VENV/bin/pip" install --quiet --disable-pip-version-check)
# One resolution for every peer, pinned to what was measured. Infinity's
# extras: server (FastAPI/uvicorn), torch (sentence-transformers engine),
# optimum (its ONNX Runtime engine). optimum 2 (ONNX Runtime side in
# optimum-onnx) because optimum 1.27's ONNX Runtime module imports its
# exporter, which fails under torch 2.15 (torch.onnx.symbolic_opset14 lost
# _attention_scale); optimum 2 has no BetterTransformer, which Infinity then
# skips (transformers' BERT uses SDPA anyway), and rejects Infinity's
# OptimizationConfig, so compare gives Infinity the optimised graph itself.
# Infinity caps numpy < 2, transformers via sentence-transformers < 4 at < 5.
# PyPI's Linux torch wheel pulls in the CUDA libraries (about 6 GB installed),
# although only the CPU is used: there is no CPU-only torch on PyPI.
"${PIP[@]}" \
  'infinity-emb[server,torch,optimum]==0.0.78' 'optimum[onnxruntime]==2.1.0' \
  optimum-onnx==0.1.0 transformers==4.57.6 sentence-transformers==3.4.1 numpy==1.26.4 \
  onnxruntime==1.32.0 torch==2.15.0 torchserve==0.12.0 torch-model-archiver==0.12.0 psutil
# sinter's Python package from this tree (its C extension built by CMake in
# SINTER_BUILD_DIR, default build-python/), for the sinter handler inside TorchServe.
SINTER_BUILD_DIR=${SINTER_BUILD_DIR:-build-python} "${PIP[@]}" --no-deps --force-reinstall .
"$VENV/bin/python" - <<'PYEOF'
import importlib.metadata as md
import sinter, ts  # noqa: F401  (TorchServe's worker package)
names = ["torch", "transformers", "sentence-transformers", "torchserve", "torch-model-archiver",
         "infinity-emb", "optimum", "optimum-onnx", "onnxruntime", "numpy"]
print("serving peers ready: " + ", ".join(f"{n} {md.version(n)}" for n in names))
PYEOF
