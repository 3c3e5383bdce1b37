#!/usr/bin/env bash
# setup.sh — idempotent set-up for a fresh Debian 12 machine (run as root, or
# with sudo available): system packages, the Python venv for tests, a release
# build, and the default model. Safe to run again: each step skips what is done.
#
#   bash scripts/setup.sh            # packages + venv + build + default model
#   SINTER_SKIP_MODEL=1 bash ...     # everything but the model download
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

say() { printf '\n==> %s\n' "$*"; }

# --- system packages ------------------------------------------------------
APT_PACKAGES=(build-essential cmake pkg-config git ca-certificates unzip
  libdnnl-dev libutf8proc-dev libcjson-dev libxxhash-dev libssl-dev libcurl4-openssl-dev libpng-dev
  libmicrohttpd-dev libonig-dev
  clang libclang-rt-14-dev python3 python3-venv python3-pip python3-dev
  python3-flasgger # python3-flasgger: Debian's copy of Swagger UI's files, for GET /docs
  nginx) # nginx: the load balancer of tests/e2e/test_scale_out.py (Debian 12: the server itself)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages present"
fi

# --- Python venv for tests and tools -------------------------------------
# The clients tests/e2e/test_server_clients.py drives the server with, and
# kubernetes-validate (tests/e2e/test_deploy_manifests.py), pinned.
PY_REQUIREMENTS=(pytest==8.3.4 "moto[server]==5.2.5" openai==3.51.0 numpy==2.4.6 huggingface-hub==2.4.0 "tritonclient[http]==2.73.0" cohere==7.3.1 langchain-openai==1.7.4 llama-index-embeddings-openai==0.7.0 kubernetes-validate==1.37.0)
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import pytest, moto.server, openai, numpy, huggingface_hub, tritonclient.http, cohere, langchain_openai, llama_index.embeddings.openai, kubernetes_validate, yaml" 2>/dev/null; then
  say "installing Python test tools into .venv"
  .venv/bin/pip install -q --disable-pip-version-check "${PY_REQUIREMENTS[@]}"
else
  say "Python venv ready"
fi

# --- build ----------------------------------------------------------------
say "building (build/)"
# SINTER_PYTHON: position-independent code, so the Python package's extension
# (pip install ., scripts/test.sh) links the same build.
# The interpreter is pinned: `pip install .` reconfigures this folder from a
# temporary build venv (setup.py resolves it to the real interpreter).
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSINTER_WERROR=ON -DSINTER_PYTHON=ON \
  -DPython3_EXECUTABLE="$(realpath .venv/bin/python)" >/dev/null
cmake --build build -j"$(nproc)"

# --- default model --------------------------------------------------------
if [ "${SINTER_SKIP_MODEL:-0}" != 1 ]; then
  bash scripts/fetch_model.sh
fi
say "set-up done"
