#!/usr/bin/env bash
# setup.sh — the peers' Python environment for bench/compare and bench/peers/*.py:
# PyTorch (eager and torch.compile), transformers, ONNX Runtime (with its transformer
# optimizer and quantizer), OpenVINO and llama.cpp (llama-cpp-python built from source,
# with its GGUF converter), at pinned versions. Idempotent: a second
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
# llama.cpp, through llama-cpp-python built from its PyPI source distribution (which
# vendors llama.cpp), with the default GGML_NATIVE=ON: -march=native, so the build
# uses what this CPU has (AVX2, FMA, F16C here; AVX-512 where present) and runs only
# on CPUs like it. No BLAS: ggml's own kernels, on its OpenMP thread pool. The sdist
# also ships llama.cpp's GGUF converter (convert_hf_to_gguf.py and its conversion/
# package), copied to $VENV/share/llama.cpp for bench/peers/llamacpp_bench.py, with
# the gguf-py it vendors: PyPI's gguf 0.19.0 (installed for its dependencies) has the
# same version number but lacks architectures this converter names (DFLASH), and the
# converter prefers a gguf-py beside it, as it does in a llama.cpp checkout;
# sentencepiece because the converter imports it before it looks for a
# tokenizer.model (llama.cpp's requirements list it). The build
# compiles llama.cpp (about 200 C/C++ files): long on a small machine, so niced.
LLAMA_CPP_PYTHON=0.3.36
if ! "$VENV/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_CPP_PYTHON')" 2>/dev/null \
   || [ ! -d "$VENV/share/llama.cpp/gguf-py" ]; then
  SDIST_DIR="$VENV/src"
  mkdir -p "$SDIST_DIR" "$VENV/share/llama.cpp"
  "$VENV/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    "llama-cpp-python==$LLAMA_CPP_PYTHON" -d "$SDIST_DIR"
  SDIST="$SDIST_DIR/llama_cpp_python-$LLAMA_CPP_PYTHON.tar.gz"
  CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_OPENMP=ON -DGGML_BLAS=OFF -DLLAMA_CURL=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    nice -n 19 "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-binary llama-cpp-python \
    "$SDIST" gguf==0.19.0 sentencepiece==0.2.3
  tar -xzf "$SDIST" -C "$VENV/share/llama.cpp" --strip-components=3 \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/convert_hf_to_gguf.py" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/conversion" \
    "llama_cpp_python-$LLAMA_CPP_PYTHON/vendor/llama.cpp/gguf-py"
fi
"$VENV/bin/python" - <<'EOF'
import importlib.metadata, gguf, llama_cpp, onnxruntime, openvino, torch, transformers
print(f"peers ready: torch {torch.__version__}, transformers {transformers.__version__}, "
      f"onnxruntime {onnxruntime.__version__}, openvino {openvino.__version__}, "
      f"llama-cpp-python {llama_cpp.__version__}, gguf {importlib.metadata.version('gguf')}")
EOF
