#!/usr/bin/env bash
# make_artifact_seeds.sh — rebuilds fuzz/corpus/artifact/ from the test
# fixtures: one artifact per family and plan feature (a tokenizer section,
# Dense modules, the SPLADE pooled linear, int8, a SiLU head), plus two
# red-team files (a section count of 100000; the "embeddings" output renamed).
# Run it after any change of the artifact format, so that the seeds reach
# past the version check. Usage: fuzz/make_artifact_seeds.sh [SINTER_BIN]
set -euo pipefail
cd "$(dirname "$0")/.."
SINTER=${1:-build/sinter}
OUT=fuzz/corpus/artifact
M=tests/fixtures/models
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

seed() { # NAME FOLDER [compile options...]
  local name=$1 folder=$2
  shift 2
  "$SINTER" compile --model "$folder" --target avx2 -o "$OUT/$name.sinter" "$@" >/dev/null
}

# A folder with a WordPiece vocabulary: the artifact carries a TOKENIZER section.
mkdir -p "$TMP/bert_cls_tokenizer" "$TMP/modernbert_cls_silu"
cp "$M"/bert_cls/* tests/fixtures/tokenizer/minilm/vocab.txt "$TMP/bert_cls_tokenizer/"
# A ModernBERT head whose activation no GEMM epilogue has: a plan with silu.
cp "$M"/modernbert_cls/* "$TMP/modernbert_cls_silu/"
sed -i 's/"classifier_activation": "gelu"/"classifier_activation": "silu"/' \
  "$TMP/modernbert_cls_silu/config.json"
grep -q '"classifier_activation": "silu"' "$TMP/modernbert_cls_silu/config.json"

# Without their tokenizer files, which would make these seeds (and every
# fuzz run over them) several times larger: bert_cls_tokenizer and
# qwen3_rerank carry a TOKENIZER section.
for f in bert_dense_st deberta_cls; do
  cp -r "$M/$f" "$TMP/$f"
  rm -f "$TMP/$f"/tokenizer.json "$TMP/$f"/tokenizer_config.json
done

seed bert_cls "$M/bert_cls" --max-tokens 64
seed bert_cls_tokenizer "$TMP/bert_cls_tokenizer"
seed bert_dense_st "$TMP/bert_dense_st"
seed bert_mlm_sparse "$M/bert_mlm" --sparse
seed deberta_cls "$TMP/deberta_cls"
seed deberta_mlm_v3_sparse "$M/deberta_mlm_v3" --sparse
seed distilbert_cls_int8 "$M/distilbert_cls" --dtype int8
seed gemma3_base "$M/gemma3_base"
seed modernbert_cls "$M/modernbert_cls" --max-tokens 128
seed modernbert_cls_silu "$TMP/modernbert_cls_silu"
seed modernbert_mlm_sparse "$M/modernbert_mlm" --sparse
seed mpnet_cls "$M/mpnet_cls" --max-tokens 256
seed qwen3_base "$M/qwen3_base" --max-tokens 128
seed qwen3_rerank "$M/qwen3_rerank"
seed roberta_cls "$M/roberta_cls" --max-tokens 64

# Red team: each from bert_cls, one field changed and no checksum mended.
python3 - "$OUT" <<'PY'
import struct, sys
out = sys.argv[1]
base = open(f"{out}/bert_cls.sinter", "rb").read()
many = bytearray(base)
struct.pack_into("<I", many, 60, 100000)  # the header's section count
open(f"{out}/redteam_n_sections.sinter", "wb").write(many)
renamed = bytearray(base)
at = base.index(b"embeddings\0")  # the PLAN section's output name
renamed[at] = ord("z")
open(f"{out}/redteam_no_embeddings_output.sinter", "wb").write(renamed)
PY
ls -l "$OUT"
