#!/usr/bin/env bash
# demo.sh — the main job: set everything up, then embed sample sentences with
# the default model (all-MiniLM-L6-v2) and print their cosine-similarity
# matrix, and classify with the fixture classifier.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
MODEL=.cache/models/all-MiniLM-L6-v2

echo
echo "==> sinter info --model $MODEL"
build/sinter info --model "$MODEL"

SENTENCES=(
  "A man is playing a guitar."
  "Someone is playing an instrument."
  "The new movie is awesome."
  "The film was fantastic."
  "A cheetah chases its prey across the field."
)
echo
echo "==> sinter embed --similarity (${#SENTENCES[@]} sentences)"
if build/sinter tokenize --help >/dev/null 2>&1; then
  build/sinter embed --model "$MODEL" --similarity "${SENTENCES[@]}"
else
  # Without the tokenizer, feed the ids Hugging Face's tokenizer gives.
  build/sinter embed --model "$MODEL" --ids --similarity \
    "101 1037 2158 2003 2652 1037 2858 1012 102" \
    "101 2619 2003 2652 2019 6602 1012 102" \
    "101 1996 2047 3185 2003 12476 1012 102" \
    "101 1996 2143 2001 10392 1012 102" \
    "101 1037 18178 12879 11907 4069 2049 8336 2408 1996 2492 1012 102"
fi

echo
echo "==> sinter classify (fixture classifier, token ids)"
build/sinter classify --model tests/fixtures/models/bert_cls --ids "1 5 9 22 7" "3 3 100 4 2 8 64"
