#!/usr/bin/env bash
# setup.sh — the peers' Python environment for bench/compare and bench/peers/*.py:
# PyTorch (eager and torch.compile), transformers, ONNX Runtime (with its transformer
# optimizer and quantizer) and OpenVINO, at pinned versions. Idempotent: a second
# run installs nothing. Developer-run only; CI never installs the peers.
#
#   bash bench/peers/setup.sh                 # makes .venv-peers in the repository
#   SINTER_PEERS_VENV=.venv-fixtures bash bench/peers/setup.sh   # reuse another venv
#
# PyPI's Linux torch wheel depends on the CUDA libraries (about 6 GB installed, even
# though only the CPU is used); there is no CPU-only wheel on PyPI.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${SINTER_PEERS_VENV:-.venv-peers}"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
  torch==2.15.0 transformers==5.24.0 onnxruntime==1.32.0 onnx==1.23.2 openvino==2026.4.1
"$VENV/bin/python" - <<'EOF'
import onnxruntime, openvino, torch, transformers
print(f"peers ready: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"onnxruntime {onnxruntime.__version__}, openvino {openvino.__version__}")
EOF
